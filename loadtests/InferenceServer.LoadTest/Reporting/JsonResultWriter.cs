using System.Globalization;
using System.Text.Json;
using InferenceServer.LoadTest.Ceiling;
using InferenceServer.LoadTest.Histograms;
using InferenceServer.LoadTest.Load;
using InferenceServer.LoadTest.Targets;

namespace InferenceServer.LoadTest.Reporting;

/// <summary>
/// The JSON result file (schema <c>inference-server-loadtest/1</c>): one object for the invocation, with its exit
/// code, the ceiling measurements and one entry per run. Latencies are in milliseconds, rates in requests per second,
/// shares as fractions (0.001 = 0.1%). loadtests/README.md describes every field.
/// </summary>
internal static class JsonResultWriter
{
    public const string Schema = "inference-server-loadtest/1";

    public static void Write(Stream stream, IReadOnlyList<RunReport> runs, IReadOnlyList<CeilingMeasurement> ceilings, DateTimeOffset startedAt, DateTimeOffset finishedAt, int exitCode)
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteString("schema", Schema);
        w.WriteString("startedAt", startedAt.ToString("O", CultureInfo.InvariantCulture));
        w.WriteString("finishedAt", finishedAt.ToString("O", CultureInfo.InvariantCulture));
        w.WriteNumber("exitCode", exitCode);
        w.WriteBoolean("passed", exitCode == ExitCodes.Passed);
        w.WriteStartArray("ceiling");
        foreach (var ceiling in ceilings)
        {
            w.WriteStartObject();
            w.WriteString("protocol", ceiling.Protocol.Name());
            w.WriteNumber("concurrency", ceiling.Concurrency);
            w.WriteString("target", ceiling.Target);
            Number(w, "throughput", ceiling.Throughput);
            Number(w, "p50Ms", ceiling.Summary.PercentileMs(50));
            Number(w, "p99Ms", ceiling.Summary.PercentileMs(99));
            w.WriteNumber("errors", ceiling.Summary.Errors);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("runs");
        foreach (var run in runs)
        {
            WriteRun(w, run);
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteRun(Utf8JsonWriter w, RunReport run)
    {
        var o = run.Options;
        w.WriteStartObject();
        w.WriteString("name", o.Name);
        w.WriteNumber("exitCode", run.ExitCode);
        w.WriteBoolean("passed", run.Passed);

        w.WriteStartObject("target");
        w.WriteString("url", o.Url.ToString());
        w.WriteString("model", o.Model);
        if (o.Version is null)
        {
            w.WriteNull("version");
        }
        else
        {
            w.WriteString("version", o.Version);
        }
        w.WriteString("protocol", o.Protocol.Name());
        if (o.Models is not null)
        {
            w.WriteNumber("models", o.Models.Count);
            w.WriteString("modelDistribution", o.ModelDistribution.ToString());
        }
        w.WriteEndObject();

        w.WriteStartObject("load");
        w.WriteString("mode", o.Mode == LoadMode.Open ? "open" : "closed");
        w.WriteString("description", o.LoadText);
        if (o.FindMaxRate)
        {
            w.WriteString("search", "find-max-rate");
        }
        else if (o.Stages is null)
        {
            Number(w, o.Mode == LoadMode.Open ? "rate" : "concurrency", o.Profile.MaxLevel);
        }
        if (o.Mode == LoadMode.Open)
        {
            w.WriteString("arrival", o.Arrival == ArrivalProcess.Poisson ? "poisson" : "constant");
        }
        if (o.Stages is not null)
        {
            w.WriteStartArray("stages");
            foreach (var stage in o.Stages)
            {
                w.WriteStartObject();
                Number(w, "durationSeconds", stage.Duration.TotalSeconds);
                Number(w, "target", stage.Target);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        Number(w, "durationSeconds", o.Profile.Duration.TotalSeconds);
        Number(w, "warmupSeconds", o.Warmup.TotalSeconds);
        Number(w, "timeoutSeconds", o.Timeout.TotalSeconds);
        w.WriteNumber("connections", o.EffectiveConnections);
        w.WriteStartObject("inputs");
        w.WriteString("source", o.InputFile is null ? "generated" : "file");
        if (o.InputFile is not null)
        {
            w.WriteString("file", o.InputFile);
        }
        else
        {
            w.WriteNumber("batchSize", o.BatchSize);
            w.WriteNumber("distinct", o.DistinctInputs);
            w.WriteNumber("seed", o.Seed);
        }
        w.WriteEndObject();
        w.WriteEndObject();

        if (run.Summary is { } s)
        {
            WriteSummary(w, s);
            if (o.Models is not null || s.ColdStarts > 0)
            {
                WriteModels(w, s);
            }
        }
        else
        {
            // Same keys either way, so consumers need no special case for a run that never started.
            foreach (var name in (string[])["summary", "latencyMs", "schedule"])
            {
                w.WriteNull(name);
            }
            foreach (var name in (string[])["errorsByKind", "timeSeries", "histogram", "percentileSpectrum"])
            {
                w.WriteStartArray(name);
                w.WriteEndArray();
            }
        }

        if (o.Sla.Count > 0)
        {
            w.WriteStartObject("sla");
            w.WriteString("text", o.SlaText);
            w.WriteBoolean("passed", run.Checks.All(c => c.Passed));
            w.WriteStartArray("assertions");
            foreach (var check in run.Checks)
            {
                var a = check.Assertion;
                w.WriteStartObject();
                w.WriteString("assertion", a.Text);
                w.WriteString("metric", a.MetricName);
                w.WriteString("operator", a.OperatorText);
                Number(w, "limit", a.Limit);
                w.WriteString("unit", a.IsLatency ? "ms" : a.IsShare ? "share" : a.Metric == Sla.SlaMetric.Throughput ? "req/s" : "count");
                if (check.Actual is { } actual)
                {
                    Number(w, "actual", actual);
                }
                else
                {
                    w.WriteNull("actual");
                }
                w.WriteBoolean("passed", check.Passed);
                w.WriteString("detail", check.Detail);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("sla");
        }

        if (run.Capacity is { } capacity)
        {
            w.WriteStartObject("capacity");
            NumberOrNull(w, "maxRate", capacity.MaxRate);
            NumberOrNull(w, "lowestFailingRate", capacity.LowestFailingRate);
            NumberOrNull(w, "uncertainty", capacity.Uncertainty);
            w.WriteBoolean("confirmed", capacity.Confirmed);
            w.WriteStartArray("noisyRates");
            foreach (var rate in capacity.NoisyRates)
            {
                w.WriteNumberValue(rate);
            }
            w.WriteEndArray();
            w.WriteString("stopReason", capacity.StopReason);
            w.WriteStartArray("trials");
            foreach (var trial in capacity.Trials)
            {
                w.WriteStartObject();
                Number(w, "rate", trial.Rate);
                w.WriteBoolean("passed", trial.Passed);
                w.WriteBoolean("full", trial.Full);
                Number(w, "durationSeconds", trial.Duration.TotalSeconds);
                w.WriteNumber("samplesWanted", trial.SamplesWanted);
                NumberOrNull(w, "loadAverage", trial.LoadAverage);
                if (trial.Summary is { } t)
                {
                    w.WriteNumber("samples", t.Successes);
                    Number(w, "throughput", t.Throughput);
                    Number(w, "p50Ms", t.PercentileMs(50));
                    Number(w, "p99Ms", t.PercentileMs(99));
                    Number(w, "errorRate", t.ErrorShare);
                    Number(w, "lateShare", t.LateShare);
                }
                w.WriteBoolean("generatorBehind", trial.GeneratorBehind);
                w.WriteStartArray("failed");
                foreach (var check in trial.Checks.Where(c => !c.Passed))
                {
                    w.WriteStringValue(check.Detail);
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("capacity");
        }

        if (run.Ceiling is { } ceiling)
        {
            w.WriteStartObject("generator");
            Number(w, "ceiling", ceiling.Throughput);
            NumberOrNull(w, "share", run.CeilingShare);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("generator");
        }

        Strings(w, "failures", run.Failures);
        Strings(w, "warnings", run.Warnings);
        w.WriteEndObject();
    }

    // Many models: hit rate, warm and cold latency, deadline misses, and every model's counts in rank order.
    private static void WriteModels(Utf8JsonWriter w, RunSummary s)
    {
        w.WriteStartObject("models");
        Number(w, "hitRate", s.HitRate);
        w.WriteNumber("warm", s.Warm.Count);
        w.WriteNumber("coldStarts", s.ColdStarts);
        w.WriteNumber("coldStartDeadlineMisses", s.ColdStartDeadlineMisses);
        foreach (var (name, latency) in (ReadOnlySpan<(string, LatencyHistogram)>)[("warmLatencyMs", s.Warm), ("coldLatencyMs", s.Cold)])
        {
            w.WriteStartObject(name);
            w.WriteNumber("count", latency.Count);
            Number(w, "p50", latency.ValueAtPercentile(50) / 1e6);
            Number(w, "p99", latency.ValueAtPercentile(99) / 1e6);
            Number(w, "max", latency.Max / 1e6);
            w.WriteEndObject();
        }
        w.WriteStartArray("perModel");
        foreach (var model in s.PerModel)
        {
            w.WriteStartObject();
            w.WriteString("name", model.Name);
            w.WriteNumber("requests", model.Requests);
            w.WriteNumber("successes", model.Successes);
            w.WriteNumber("coldStarts", model.ColdStarts);
            w.WriteNumber("errors", model.Errors);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteSummary(Utf8JsonWriter w, RunSummary s)
    {
        w.WriteStartObject("summary");
        w.WriteNumber("requests", s.Completed);
        w.WriteNumber("sent", s.Sent);
        w.WriteNumber("successes", s.Successes);
        w.WriteNumber("errors", s.Errors);
        Number(w, "errorRate", s.ErrorShare);
        Number(w, "throughput", s.Throughput);
        w.WriteNumber("successesInWindow", s.WindowSuccesses);
        Number(w, "sendRate", s.SendRate);
        Number(w, "durationSeconds", s.Seconds);
        w.WriteNumber("warmupRequests", s.WarmupRequests);
        w.WriteBoolean("interrupted", s.Interrupted);
        w.WriteEndObject();

        w.WriteStartObject("latencyMs");
        Number(w, "min", s.Latency.Min / 1e6);
        Number(w, "mean", s.Latency.Mean / 1e6);
        foreach (var p in HistogramExport.ReportedPercentiles)
        {
            Number(w, "p" + p.ToString("0.###", CultureInfo.InvariantCulture), s.PercentileMs(p));
        }
        Number(w, "max", s.Latency.Max / 1e6);
        w.WriteEndObject();

        if (s.Mode == LoadMode.Open)
        {
            w.WriteStartObject("schedule");
            NumberOrNull(w, "intendedRate", s.IntendedRate);
            Number(w, "sendRate", s.SendRate);
            w.WriteNumber("late", s.Late);
            Number(w, "lateShare", s.LateShare);
            Number(w, "lateThresholdMs", s.LateThreshold.TotalMilliseconds);
            w.WriteStartObject("latenessMs");
            Number(w, "p50", s.Lateness.ValueAtPercentile(50) / 1e6);
            Number(w, "p99", s.Lateness.ValueAtPercentile(99) / 1e6);
            Number(w, "max", s.Lateness.Max / 1e6);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("schedule");
        }

        w.WriteStartArray("errorsByKind");
        foreach (var error in s.ErrorsByKind)
        {
            w.WriteStartObject();
            w.WriteString("kind", error.Kind.ToString());
            w.WriteString("category", error.Kind.Category.ToString().ToLowerInvariant());
            if (error.Kind.Category is ErrorCategory.Http or ErrorCategory.Grpc)
            {
                w.WriteNumber("code", error.Kind.Code);
            }
            w.WriteNumber("count", error.Count);
            if (error.Sample is not null)
            {
                w.WriteString("sample", error.Sample);
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();

        w.WriteStartArray("timeSeries");
        foreach (var t in s.TimeSeries)
        {
            w.WriteStartObject();
            Number(w, "t", t.Seconds);
            w.WriteBoolean("warmup", t.Warmup);
            Number(w, "throughput", t.Throughput);
            Number(w, "sendRate", t.SendRate);
            w.WriteNumber("successes", t.Successes);
            w.WriteNumber("errors", t.Errors);
            Number(w, "p50Ms", t.P50Ms);
            Number(w, "p90Ms", t.P90Ms);
            Number(w, "p99Ms", t.P99Ms);
            Number(w, "maxMs", t.MaxMs);
            w.WriteNumber("inFlight", t.InFlight);
            Number(w, "target", t.TargetLevel);
            w.WriteEndObject();
        }
        w.WriteEndArray();

        w.WriteStartArray("histogram");
        foreach (var (low, high, count) in HistogramExport.Bins(s.Latency))
        {
            w.WriteStartObject();
            Number(w, "lowMs", low);
            Number(w, "highMs", high);
            w.WriteNumber("count", count);
            w.WriteEndObject();
        }
        w.WriteEndArray();

        w.WriteStartArray("percentileSpectrum");
        foreach (var (percentile, ms) in HistogramExport.Spectrum(s.Latency))
        {
            w.WriteStartObject();
            Number(w, "percentile", percentile);
            Number(w, "ms", ms);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    // Rounded to what the histogram can tell apart, so files stay readable.
    private static void Number(Utf8JsonWriter w, string name, double value) =>
        w.WriteNumber(name, double.IsFinite(value) ? Math.Round(value, 6) : 0);

    private static void NumberOrNull(Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v)
        {
            Number(w, name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static void Strings(Utf8JsonWriter w, string name, IReadOnlyList<string> values)
    {
        w.WriteStartArray(name);
        foreach (var value in values)
        {
            w.WriteStringValue(value);
        }
        w.WriteEndArray();
    }
}
