using InferenceServer.LoadTest.Ceiling;
using InferenceServer.LoadTest.Cli;
using InferenceServer.LoadTest.Histograms;
using InferenceServer.LoadTest.Load;
using InferenceServer.LoadTest.Targets;

namespace InferenceServer.LoadTest.Reporting;

/// <summary>The plain-text summary printed after each run: readable in a terminal and in a CI log alike.</summary>
internal static class ConsoleReport
{
    public static void WriteCeiling(TextWriter o, CeilingMeasurement ceiling)
    {
        var s = ceiling.Summary;
        o.WriteLine($"generator ceiling  {ceiling.Protocol.Name()}: {Units.Rate(s.Throughput)} at concurrency {ceiling.Concurrency} against {ceiling.Target} (p50 {Units.Ms(s.PercentileMs(50))}, p99 {Units.Ms(s.PercentileMs(99))}, {Units.Count(s.Errors)} errors)");
    }

    // Many models: the cache's hit rate, warm and cold latency apart, deadline misses, and where the traffic went.
    private static void WriteModels(TextWriter o, RunOptions opts, RunSummary s)
    {
        var models = opts.Models is null ? "" : $"{Units.Count(opts.Models.Count)} models ({opts.ModelDistribution}); ";
        o.WriteLine($"  models       {models}hit rate {Units.Share(s.HitRate)}: {Units.Count(s.Warm.Count)} warm, {Units.Count(s.ColdStarts)} cold, {Units.Count(s.ColdStartDeadlineMisses)} cold-start deadline misses (503)");
        foreach (var (name, latency) in (ReadOnlySpan<(string, LatencyHistogram)>)[("warm", s.Warm), ("cold", s.Cold)])
        {
            if (latency.Count > 0)
            {
                o.WriteLine($"  {name,-12} p50 {Units.Ms(latency.ValueAtPercentile(50) / 1e6)}   p99 {Units.Ms(latency.ValueAtPercentile(99) / 1e6)}   max {Units.Ms(latency.Max / 1e6)}   ({Units.Count(latency.Count)})");
            }
        }
        if (s.PerModel.Count > 0)
        {
            var busiest = s.PerModel.OrderByDescending(m => m.Requests).Take(5).Select(m => $"{m.Name} {Units.Share(s.Sent == 0 ? 0 : m.Requests / (double)s.Sent)}");
            var idle = s.PerModel.Count(m => m.Requests == 0);
            o.WriteLine($"  busiest      {string.Join(", ", busiest)}{(idle > 0 ? $"; {Units.Count(idle)} models got no request" : "")} (all counts in --json)");
        }
    }

    public static void WriteRun(TextWriter o, RunReport run)
    {
        var opts = run.Options;
        if (run.Summary is { } s)
        {
            var label = run.Capacity is null ? "" : " (last passing trial)";
            o.WriteLine($"  requests     {Units.Count(s.Completed)} completed{label}: {Units.Count(s.Successes)} ok, {Units.Count(s.Errors)} errors ({Units.Share(s.ErrorShare)}){(s.Interrupted ? " — interrupted" : "")}");
            o.WriteLine($"  throughput   {Units.Rate(s.Throughput)} over {Units.Seconds(s.Seconds)}");
            if (s.Successes > 0)
            {
                o.WriteLine($"  latency      p50 {Units.Ms(s.PercentileMs(50))}   p90 {Units.Ms(s.PercentileMs(90))}   p99 {Units.Ms(s.PercentileMs(99))}   p99.9 {Units.Ms(s.PercentileMs(99.9))}   max {Units.Ms(s.Latency.Max / 1e6)}   mean {Units.Ms(s.Latency.Mean / 1e6)}");
            }
            if (opts.Models is not null || s.ColdStarts > 0)
            {
                WriteModels(o, opts, s);
            }
            if (s.Mode == LoadMode.Open)
            {
                o.WriteLine($"  schedule     intended {Units.Rate(s.IntendedRate ?? 0)}, sent {Units.Rate(s.SendRate)}; {Units.Count(s.Late)} of {Units.Count(s.Sent)} started more than {Units.Ms(s.LateThreshold.TotalMilliseconds)} late ({Units.Share(s.LateShare)}); lateness p99 {Units.Ms(s.Lateness.ValueAtPercentile(99) / 1e6)}, max {Units.Ms(s.Lateness.Max / 1e6)}");
            }
            foreach (var error in s.ErrorsByKind)
            {
                o.WriteLine($"  error        {error.Kind}: {Units.Count(error.Count)}{(error.Sample is null ? "" : $" — {error.Sample}")}");
            }
        }
        if (run.Capacity is { } capacity)
        {
            foreach (var trial in capacity.Trials)
            {
                var t = trial.Summary;
                var figures = t is null ? "" : $"throughput {Units.Rate(t.Throughput)}, p99 {Units.Ms(t.PercentileMs(99))}, errors {Units.Share(t.ErrorShare)}{(trial.GeneratorBehind ? $", generator behind ({Units.Share(t.LateShare)} late)" : "")}";
                o.WriteLine($"  trial        {Units.Rate(trial.Rate),10}  {(trial.Passed ? "pass" : "FAIL")}  {figures}  [{CapacityText.Sizing(trial)}]");
            }
            o.WriteLine($"  capacity     {CapacityText.Answer(capacity)} — {capacity.StopReason}");
        }
        foreach (var check in run.Checks)
        {
            o.WriteLine($"  SLA {(check.Passed ? "pass" : "FAIL")}     {check.Detail}");
        }
        if (run.Ceiling is { } ceiling && run.CeilingShare is { } share)
        {
            o.WriteLine($"  generator    this run reached {Units.Share(share)} of the generator's ceiling ({Units.Rate(ceiling.Throughput)} for {ceiling.Protocol.Name()})");
        }
        foreach (var failure in run.Failures)
        {
            o.WriteLine($"  failed       {failure}");
        }
        foreach (var warning in run.Warnings)
        {
            o.WriteLine($"  warning      {warning}");
        }
        o.WriteLine($"  result       {(run.Passed ? "PASSED" : run.ExitCode == ExitCodes.Interrupted ? "INTERRUPTED" : "FAILED")} (exit {run.ExitCode}){(opts.Sla.Count == 0 && run.Passed ? " — no --sla given, so only 'some requests succeeded' was checked" : "")}");
    }
}
