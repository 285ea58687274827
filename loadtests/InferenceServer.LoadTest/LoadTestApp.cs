using System.CommandLine;
using System.Net;
using InferenceServer.LoadTest.Capacity;
using InferenceServer.LoadTest.Ceiling;
using InferenceServer.LoadTest.Cli;
using InferenceServer.LoadTest.Inputs;
using InferenceServer.LoadTest.Load;
using InferenceServer.LoadTest.Reporting;
using InferenceServer.LoadTest.Sla;
using InferenceServer.LoadTest.Targets;

namespace InferenceServer.LoadTest;

/// <summary>
/// The <c>loadtest</c> command: parse, check the targets, measure the generator's ceiling when asked, run every
/// run (or capacity search), judge each against its SLA, write the reports and return the exit code.
/// </summary>
internal sealed class LoadTestApp(TextWriter stdout, TextWriter stderr, TimeProvider time, bool terminal)
{
    private static readonly TimeSpan MetadataTimeout = TimeSpan.FromSeconds(10);
    private bool _liveDisplay;

    public async Task<int> RunAsync(IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        Invocation invocation;
        try
        {
            invocation = ArgumentParser.Parse(args);
        }
        catch (UsageException e)
        {
            return Usage(e.Message);
        }
        var global = invocation.Global;
        _liveDisplay = terminal && !global.NoProgress;
        if (global.Help)
        {
            return LoadTestCommand.Root.Parse(["--help"]).Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
        }
        if (global.ServeTrivialPort is { } port)
        {
            return await ServeTrivialAsync(port, cancellationToken).ConfigureAwait(false);
        }

        var startedAt = time.GetUtcNow();
        var prepared = new List<(RunOptions Options, IReadOnlyList<InferenceInput> Inputs)>();
        foreach (var run in invocation.Runs)
        {
            try
            {
                prepared.Add((run, await PrepareInputsAsync(run, cancellationToken).ConfigureAwait(false)));
            }
            catch (FormatException e)
            {
                return Usage(e.Message);
            }
            catch (IOException e)
            {
                return Usage($"--input: {e.Message}");
            }
            catch (UnauthorizedAccessException e)
            {
                return Usage($"--input: {e.Message}");
            }
            catch (TargetUnavailableException e)
            {
                stderr.WriteLine($"loadtest: {(invocation.Runs.Count > 1 ? $"scenario '{run.Name}': " : "")}{e.Message}");
                return ExitCodes.TargetUnavailable;
            }
        }

        var ceilings = new List<CeilingMeasurement>();
        if (global.Ceiling)
        {
            ceilings.AddRange(await MeasureCeilingsAsync(global, prepared, cancellationToken).ConfigureAwait(false));
        }

        var reports = new List<RunReport>();
        foreach (var (options, inputs) in prepared)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            var ceiling = ceilings.FirstOrDefault(c => c.Protocol == options.Protocol);
            stdout.WriteLine($"run '{options.Name}': {options.ModelText} over {options.Protocol.Name()} at {options.Url} — {Describe(options)}");
            var report = options.FindMaxRate
                ? await SearchCapacityAsync(options, inputs, ceiling, cancellationToken).ConfigureAwait(false)
                : await RunOnceAsync(options, inputs, ceiling, cancellationToken).ConfigureAwait(false);
            ConsoleReport.WriteRun(stdout, report);
            stdout.WriteLine();
            reports.Add(report);
        }

        var exitCode = cancellationToken.IsCancellationRequested ? ExitCodes.Interrupted
            : reports.Any(r => !r.Passed) ? ExitCodes.Failed
            : ExitCodes.Passed;
        WriteOutputs(global, reports, ceilings, startedAt, exitCode);
        if (reports.Count > 1)
        {
            stdout.WriteLine($"{reports.Count(r => r.Passed)} of {reports.Count} runs passed (exit {exitCode})");
        }
        return exitCode;
    }

    // One line: a script's log shows what was wrong without the whole help.
    private int Usage(string message)
    {
        stderr.WriteLine($"loadtest: {message}");
        return ExitCodes.Usage;
    }

    private static string Describe(RunOptions o)
    {
        var load = o.FindMaxRate
            ? $"capacity search from {Units.Rate(o.StartRate)}, trials of {Units.Seconds(o.Profile.Duration.TotalSeconds)} to {Units.Seconds(o.MaxTrialDuration.TotalSeconds)}, sized for {Units.Count(TrialLength.SamplesFor(o.Sla))} samples"
            : $"{o.LoadText}{(o.Mode == LoadMode.Open ? $", {(o.Arrival == ArrivalProcess.Poisson ? "poisson" : "constant")} arrivals" : "")}, {Units.Seconds(o.Profile.Duration.TotalSeconds)}";
        var warmup = o.Warmup > TimeSpan.Zero ? $" (+{Units.Seconds(o.Warmup.TotalSeconds)} warm-up{(o.FindMaxRate ? " each" : "")})" : "";
        var inputs = o.InputFile is null ? $"generated inputs, batch {o.BatchSize}" : $"inputs from {o.InputFile}";
        return $"{load}{warmup}, {inputs}";
    }

    private static async Task<IReadOnlyList<InferenceInput>> PrepareInputsAsync(RunOptions run, CancellationToken cancellationToken)
    {
        if (run.InputFile is not null)
        {
            var inputs = run.Protocol == Protocol.RestPredict ? JsonlInputReader.ReadPredictBodies(run.InputFile) : JsonlInputReader.Read(run.InputFile);
            // Still ask, so a server that is down is a setup failure (exit 3) rather than a run of connection errors. Many
            // models may not be loaded yet (an on-demand server loads them on first request), so then only the server is asked.
            if (run.Models is null)
            {
                await MetadataClient.FetchAsync(run.Url, run.Model, run.Version, run.Protocol, MetadataTimeout, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await MetadataClient.CheckLiveAsync(run.Url, run.Protocol, MetadataTimeout, cancellationToken).ConfigureAwait(false);
            }
            return inputs;
        }
        ModelMetadata metadata;
        try
        {
            metadata = await MetadataClient.FetchAsync(run.Url, run.Model, run.Version, run.Protocol, MetadataTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TargetUnavailableException e) when (run.Models is not null)
        {
            throw new TargetUnavailableException($"{e.Message} (--models generates its inputs from the first model's metadata; where it is not loaded yet, give them with --input)");
        }
        try
        {
            return InputGenerator.Generate(metadata, run.BatchSize, run.DistinctInputs, run.Seed);
        }
        catch (FormatException e)
        {
            throw new TargetUnavailableException(e.Message);
        }
    }

    private static IInferenceTarget CreateTarget(RunOptions options, Uri url, IReadOnlyList<InferenceInput> inputs) => options.Protocol == Protocol.Grpc
        ? new GrpcTarget(url, options.EffectiveConnections, options.AllModels, options.Version, inputs, options.Timeout)
        : new RestTarget(url, options.AllModels, options.Version, options.Protocol, inputs, options.EffectiveConnections, TimeSpan.FromSeconds(10));

    private async Task<RunSummary> ExecuteAsync(RunOptions options, IReadOnlyList<InferenceInput> inputs, Uri url, string title, CancellationToken cancellationToken)
    {
        var target = CreateTarget(options, url, inputs);
        await using (target.ConfigureAwait(false))
        {
            var progress = new LiveProgress(_liveDisplay);
            return await progress.RunAsync(title, report => new LoadRunner(time).RunAsync(options.ToPlan(), target, report, cancellationToken, options.AllModels)).ConfigureAwait(false);
        }
    }

    private async Task<RunReport> RunOnceAsync(RunOptions options, IReadOnlyList<InferenceInput> inputs, CeilingMeasurement? ceiling, CancellationToken cancellationToken)
    {
        var summary = await ExecuteAsync(options, inputs, options.Url, $"{options.Name}: {options.ModelText} over {options.Protocol.Name()}, {options.LoadText}", cancellationToken).ConfigureAwait(false);
        var checks = SlaEvaluator.Evaluate(options.Sla, summary);
        var failures = new List<string>();
        if (summary.Sent == 0)
        {
            failures.Add("no request was sent in the measured window");
        }
        else if (summary.Successes == 0)
        {
            var top = summary.ErrorsByKind.FirstOrDefault();
            failures.Add($"none of the {Units.Count(summary.Completed)} requests succeeded{(top is null ? "" : $" (most were {top.Kind}{(top.Sample is null ? "" : $": {top.Sample}")})")}");
        }
        var warnings = Warnings(summary, ceiling, options);
        var exitCode = summary.Interrupted ? ExitCodes.Interrupted
            : failures.Count > 0 || checks.Any(c => !c.Passed) ? ExitCodes.Failed
            : ExitCodes.Passed;
        return new RunReport { Options = options, Summary = summary, Checks = checks, Ceiling = ceiling, Failures = failures, Warnings = warnings, ExitCode = exitCode };
    }

    private async Task<RunReport> SearchCapacityAsync(RunOptions options, IReadOnlyList<InferenceInput> inputs, CeilingMeasurement? ceiling, CancellationToken cancellationToken)
    {
        // Trials are sized for the SLA's percentile: full ones (bisection, repeats) gather its samples, scouting ones a tenth.
        var samples = TrialLength.SamplesFor(options.Sla);
        var result = await MaxRateSearch.SearchAsync(options.StartRate, options.MaxRate, options.Precision, options.MaxTrials, async (rate, full) =>
        {
            var wanted = full ? samples : samples / 10;
            var duration = full
                ? TrialLength.FullDuration(rate, samples, options.Profile.Duration, options.MaxTrialDuration)
                : TrialLength.Duration(rate, wanted, options.Profile.Duration, options.MaxTrialDuration);
            var trialOptions = options with
            {
                Profile = LoadProfile.Constant(rate, duration),
                LoadText = $"rate {Units.Number(rate)}/s",
            };
            var load = LoadAverage.TryRead();
            var summary = await ExecuteAsync(trialOptions, inputs, options.Url,
                $"{options.Name}: capacity trial at {Units.Rate(rate)} ({(full ? "full" : "scouting")}, {Units.Seconds(duration.TotalSeconds)})", cancellationToken).ConfigureAwait(false);
            var checks = SlaEvaluator.Evaluate(options.Sla, summary);
            var passed = !summary.Interrupted && summary.Successes > 0 && checks.All(c => c.Passed);
            return new CapacityTrial(rate, passed, summary, checks) { Full = full, Duration = duration, SamplesWanted = wanted, LoadAverage = load };
        }, cancellationToken).ConfigureAwait(false);

        var shown = result.Trials.LastOrDefault(t => t.Passed && t.Rate == result.MaxRate) ?? result.Trials.LastOrDefault();
        var failures = new List<string>();
        if (result.MaxRate is null && !cancellationToken.IsCancellationRequested)
        {
            failures.Add($"no rate met the SLA ({result.StopReason})");
        }
        var warnings = new List<string>();
        if (result.Trials.Any(t => t.GeneratorBehind && t.Rate <= (result.LowestFailingRate ?? double.MaxValue)))
        {
            warnings.Add("in some trials the generator fell behind its schedule (over 1% of requests started late): near those rates the capacity found may be the generator's rather than the server's");
        }
        if (result.NoisyRates.Count > 0)
        {
            warnings.Add($"trials at the same rate disagreed at {string.Join(", ", result.NoisyRates.Select(Units.Rate))} (a repeat decided): the machine or the server was noisy there, so the capacity may move by more than the interval between runs");
        }
        if (result.Trials.Any(t => t.Full && t.Summary is { } s && s.Successes < t.SamplesWanted))
        {
            warnings.Add($"some full trials gathered fewer than the {Units.Count(samples)} samples the SLA's percentile needs (they were capped at --max-trial-duration {Units.Seconds(options.MaxTrialDuration.TotalSeconds)}): their percentiles rest on fewer slow requests");
        }
        if (result.MaxRate is not null && !result.Confirmed && !cancellationToken.IsCancellationRequested)
        {
            warnings.Add("the capacity found was not confirmed by a repeated full trial (the search stopped first): raise --max-trials");
        }
                if (ceiling is not null && result.MaxRate is { } max && max >= ceiling.Throughput * 0.8)
        {
            warnings.Add($"the capacity found ({Units.Rate(max)}) is at {Units.Share(max / ceiling.Throughput)} of the generator's own ceiling ({Units.Rate(ceiling.Throughput)}): the server may be able to do more than this machine can offer");
        }
        var exitCode = cancellationToken.IsCancellationRequested ? ExitCodes.Interrupted : result.MaxRate is null ? ExitCodes.Failed : ExitCodes.Passed;
        return new RunReport
        {
            Options = options,
            Summary = shown?.Summary,
            Checks = shown?.Checks ?? [],
            Capacity = result,
            Ceiling = ceiling,
            Failures = failures,
            Warnings = warnings,
            ExitCode = exitCode,
        };
    }

    private static List<string> Warnings(RunSummary summary, CeilingMeasurement? ceiling, RunOptions options)
    {
        var warnings = new List<string>();
        if (summary.Mode == LoadMode.Open && summary.LateShare > 0.01)
        {
            warnings.Add($"the generator could not keep the requested rate: {Units.Count(summary.Late)} of {Units.Count(summary.Sent)} requests ({Units.Share(summary.LateShare)}) started more than {Units.Ms(summary.LateThreshold.TotalMilliseconds)} late (lateness p99 {Units.Ms(summary.Lateness.ValueAtPercentile(99) / 1e6)}, max {Units.Ms(summary.Lateness.Max / 1e6)}); their latency still counts from the intended time");
        }
        if (ceiling is { Throughput: > 0 } && summary.Throughput >= ceiling.Throughput * 0.8)
        {
            warnings.Add($"this run reached {Units.Share(summary.Throughput / ceiling.Throughput)} of the generator's own ceiling ({Units.Rate(ceiling.Throughput)} for {ceiling.Protocol.Name()}): the figures may describe the generator more than the server");
        }
        if (summary.Mode == LoadMode.Closed && options.Protocol != Protocol.Grpc && options.Connections is { } connections && connections < options.Profile.MaxLevel)
        {
            warnings.Add($"--connections {connections} is below the {options.Profile.MaxLevel} workers: requests queue in the client for a connection, and that wait counts as latency");
        }
        return warnings;
    }

    private async Task<IReadOnlyList<CeilingMeasurement>> MeasureCeilingsAsync(GlobalOptions global, List<(RunOptions Options, IReadOnlyList<InferenceInput> Inputs)> prepared, CancellationToken cancellationToken)
    {
        var measurements = new List<CeilingMeasurement>();
        TrivialEndpoint? endpoint = null;
        TrivialProcess? child = null;
        try
        {
            Uri restUrl, grpcUrl;
            string where;
            if (global.CeilingUrl is { } url)
            {
                restUrl = url;
                grpcUrl = new UriBuilder(url) { Port = url.Port + 1 }.Uri;
                where = $"{url} (gRPC at port {url.Port + 1})";
            }
            else if ((child = await TrivialProcess.TryStartAsync(cancellationToken).ConfigureAwait(false)) is not null)
            {
                (restUrl, grpcUrl) = (child.HttpAddress, child.GrpcAddress);
                where = "a trivial endpoint in a child process";
            }
            else
            {
                endpoint = await TrivialEndpoint.StartAsync(IPAddress.Loopback, 0, cancellationToken).ConfigureAwait(false);
                (restUrl, grpcUrl) = (endpoint.HttpAddress, endpoint.GrpcAddress);
                where = "a trivial endpoint in this process";
            }

            // One measurement per protocol in use, with that protocol's first run's inputs and the same client set-up:
            // closed-loop runs' concurrency (the largest), or 32 workers for open loop. A bare --ceiling measures the
            // protocol and concurrency given, with a small tensor.
            var groups = prepared.Count == 0
                ? [(global.CeilingProtocol, (IReadOnlyList<InferenceInput>)[SyntheticInput()], global.CeilingConcurrency)]
                : prepared.GroupBy(p => p.Options.Protocol).Select(g => (g.Key, g.First().Inputs, g.Where(p => p.Options.Mode == LoadMode.Closed).Select(p => (int)p.Options.Profile.MaxLevel).DefaultIfEmpty(global.CeilingConcurrency).Max())).ToList();
            foreach (var (protocol, inputs, concurrency) in groups)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    break;
                }
                var options = new RunOptions
                {
                    Name = "ceiling",
                    Url = protocol == Protocol.Grpc ? grpcUrl : restUrl,
                    Model = prepared.FirstOrDefault(p => p.Options.Protocol == protocol).Options?.Model ?? "trivial",
                    Protocol = protocol,
                    Mode = LoadMode.Closed,
                    Profile = LoadProfile.Constant(concurrency, global.CeilingDuration),
                    LoadText = $"concurrency {concurrency}",
                    // Both ends JIT-compile their hot paths during the first second or two.
                    Warmup = TimeSpan.FromSeconds(2),
                };
                stdout.WriteLine($"measuring the generator's ceiling: {protocol.Name()}, concurrency {concurrency}, {Units.Seconds(global.CeilingDuration.TotalSeconds)} against {where}");
                var summary = await ExecuteAsync(options, inputs, options.Url, $"generator ceiling, {protocol.Name()}", cancellationToken).ConfigureAwait(false);
                var measurement = new CeilingMeasurement(protocol, concurrency, where, summary);
                ConsoleReport.WriteCeiling(stdout, measurement);
                measurements.Add(measurement);
            }
            stdout.WriteLine();
        }
        finally
        {
            if (endpoint is not null)
            {
                await endpoint.DisposeAsync().ConfigureAwait(false);
            }
            if (child is not null)
            {
                await child.DisposeAsync().ConfigureAwait(false);
            }
        }
        return measurements;
    }

    private static InferenceInput SyntheticInput() =>
        new([new InputTensor("INPUT0", "FP32", [1, 16], new byte[64])], []);

    private async Task<int> ServeTrivialAsync(int port, CancellationToken cancellationToken)
    {
        await using var endpoint = await TrivialEndpoint.StartAsync(IPAddress.Any, port, cancellationToken).ConfigureAwait(false);
        // One parsable line: a parent loadtest reads it to find the ports (see TrivialProcess).
        stdout.WriteLine($"{TrivialProcess.ReadyPrefix}rest={endpoint.HttpAddress} grpc={endpoint.GrpcAddress}");
        stdout.WriteLine("(REST over HTTP/1.1, gRPC over HTTP/2 cleartext; Ctrl+C stops it)");
        await stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await TrivialProcess.WaitForParentExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        return ExitCodes.Passed;
    }

    private void WriteOutputs(GlobalOptions global, IReadOnlyList<RunReport> reports, IReadOnlyList<CeilingMeasurement> ceilings, DateTimeOffset startedAt, int exitCode)
    {
        var finishedAt = time.GetUtcNow();
        if (global.JsonPath is { } json)
        {
            using var stream = File.Create(json);
            JsonResultWriter.Write(stream, reports, ceilings, startedAt, finishedAt, exitCode);
            stdout.WriteLine($"results: {Path.GetFullPath(json)}");
        }
        if (global.ReportPath is { } html)
        {
            File.WriteAllText(html, HtmlReport.Render(reports, ceilings, startedAt, finishedAt, exitCode));
            stdout.WriteLine($"report: {Path.GetFullPath(html)}");
        }
    }
}
