namespace InferenceServer.FunctionalTests.Hardening;

/// <summary>
/// Runs a target's cases in batches against the fuzz server: the cases of a batch in parallel, each with the hang
/// timeout; after each batch, the server must still be running and answer a valid request correctly. A crash is traced
/// to its case by replaying the batch one case at a time on a fresh server; a hang or a wrong answer to the valid
/// request also gets a fresh server, so one defect does not hide the cases after it.
/// </summary>
internal static class FuzzLoop
{
    public static async Task<FuzzReport> RunAsync(
        FuzzServer server, string target, int ciBudget, Func<Random, int, FuzzCase> generate,
        Func<FuzzCase, CancellationToken, Task<FuzzVerdict>> send, int batchSize = 64, int parallelism = 4, int maxRestarts = 5,
        Func<Task<string?>>? check = null)
    {
        var settings = server.Settings;
        var report = new FuzzReport(target, settings);
        var cases = settings.CasesFor(ciBudget);
        var restarts = 0;
        for (var first = 0; first < cases && restarts <= maxRestarts; first += batchSize)
        {
            var batch = Enumerable.Range(first, Math.Min(batchSize, cases - first)).Select(i => generate(settings.CaseRandom(target, i), i)).ToList();
            var hung = 0;
            await Parallel.ForEachAsync(batch, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, async (c, _) =>
            {
                if (await RunCaseAsync(report, settings, c, send))
                {
                    return;
                }
                if (parallelism > 1)
                {
                    Interlocked.Increment(ref hung);
                    return;
                }
                // One case at a time (a target whose cases share state, such as one model's config): a hung case may
                // hold what the next one needs (a load holds the model's lock), so start clean before the next.
                restarts++;
                await server.RestartAsync($"{target}: case {c.Index} hung");
            });

            if (server.HasExited)
            {
                restarts++;
                var exit = await server.RestartAsync($"{target}: crashed in cases {first}..{first + batch.Count - 1}");
                var culprit = await FindCrashAsync(server, settings, batch, send);
                report.Fail(culprit is null
                    ? new FuzzFailure(first, "crash", $"the server died ({exit}) during cases {first}..{first + batch.Count - 1}; no single case crashes it again", "the whole batch", [])
                    : new FuzzFailure(culprit.Index, "crash", $"the server died: {exit}", culprit.Request, culprit.Bytes));
                continue;
            }
            if ((await server.CheckValidRequestsAsync() ?? (check is null ? null : await check())) is { } broken)
            {
                report.Fail(new FuzzFailure(-1, "valid request after batch", $"after cases {first}..{first + batch.Count - 1}: {broken}", "the valid request", []));
                restarts++;
                await server.RestartAsync($"{target}: the valid request failed after cases {first}..{first + batch.Count - 1}");
            }
            else if (hung > 0)
            {
                // A hung request may still hold the server's resources (a load that never ends); start clean.
                restarts++;
                await server.RestartAsync($"{target}: {hung} hung request(s) in cases {first}..{first + batch.Count - 1}");
            }
        }
        if (restarts > maxRestarts)
        {
            report.Fail(new FuzzFailure(-1, "gave up", $"stopped after {report.Cases} of {cases} cases: the server was started again {restarts} times", "", []));
        }
        return report;
    }

    // False when the case hung.
    private static async Task<bool> RunCaseAsync(FuzzReport report, FuzzSettings settings, FuzzCase c, Func<FuzzCase, CancellationToken, Task<FuzzVerdict>> send)
    {
        using var timeout = new CancellationTokenSource(settings.Timeout);
        FuzzVerdict verdict;
        try
        {
            verdict = await send(c, timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            verdict = FuzzVerdict.Hang(settings.Timeout);
        }
        catch (HttpRequestException e)
        {
            // The connection broke: the batch's crash check tells a dead server from a refused request.
            verdict = new FuzzVerdict($"connection error ({e.HttpRequestError})");
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
        {
            verdict = new FuzzVerdict("connection error");
        }
        report.Count(verdict.Outcome);
        if (verdict.FailureKind is { } kind)
        {
            report.Fail(new FuzzFailure(c.Index, kind, verdict.Detail ?? verdict.Outcome, c.Request, c.Bytes));
        }
        return verdict.FailureKind != "hang";
    }

    // Replays a batch one case at a time until the server dies again; the case that killed it, or null.
    private static async Task<FuzzCase?> FindCrashAsync(FuzzServer server, FuzzSettings settings, List<FuzzCase> batch, Func<FuzzCase, CancellationToken, Task<FuzzVerdict>> send)
    {
        foreach (var c in batch)
        {
            using var timeout = new CancellationTokenSource(settings.Timeout);
            try
            {
                await send(c, timeout.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or HttpRequestException or IOException or System.Net.Sockets.SocketException)
            {
                // Whatever the answer, only whether the server survived matters here.
            }
            await Task.Delay(50);
            if (server.HasExited)
            {
                await server.RestartAsync($"replaying case {c.Index} crashed the server again");
                return c;
            }
        }
        return null;
    }
}
