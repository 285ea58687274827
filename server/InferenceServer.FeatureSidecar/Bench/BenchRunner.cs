using System.Diagnostics;
using System.Globalization;
using HdrHistogram;
using InferenceServer.Core.Features.Sidecar;

namespace InferenceServer.FeatureSidecar.Bench;

/// <summary>
/// <c>feature-sidecar bench</c>: a closed loop of <c>--concurrency</c> workers, each sending one lookup and waiting for
/// its answer before the next, over <c>--connections</c> multiplexed connections, for <c>--duration</c>; then one line
/// with the lookups/s, the latency percentiles (µs, client side) and the count of each status.
/// </summary>
internal static class BenchRunner
{
    public static async Task<int> RunAsync(BenchSettings settings, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var connections = new BenchConnection[settings.Connections];
        try
        {
            for (var i = 0; i < connections.Length; i++)
            {
                connections[i] = await BenchConnection.ConnectAsync(settings.SocketPath).ConfigureAwait(false);
            }
            var statuses = new long[(int)SidecarStatus.Overloaded + 1];
            var workers = new Task<LongHistogram>[settings.Concurrency];
            var started = Stopwatch.GetTimestamp();
            var end = started + (long)(settings.Duration.TotalSeconds * Stopwatch.Frequency);
            for (var i = 0; i < workers.Length; i++)
            {
                var connection = connections[i % connections.Length];
                workers[i] = Task.Run(() => WorkAsync(connection, settings, end, statuses, cancellationToken), cancellationToken);
            }
            var latencies = new LongHistogram(TimeSpan.TicksPerMinute, 3);
            foreach (var worker in workers)
            {
                latencies.Add(await worker.ConfigureAwait(false));
            }
            var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"bench: {latencies.TotalCount} lookups of {settings.Keys.Length} keys in {seconds:F2} s at concurrency {settings.Concurrency} over {settings.Connections} connections: "
                + $"{latencies.TotalCount / seconds:F0} lookups/s; latency p50 {Micros(latencies, 50)} us, p99 {Micros(latencies, 99)} us, max {latencies.GetMaxValue() / 10.0:F0} us; "
                + $"ok {statuses[0]}, deadline_exceeded {statuses[1]}, store_unavailable {statuses[2]}, bad_request {statuses[3]}, overloaded {statuses[4]}")).ConfigureAwait(false);
            return 0;
        }
        catch (BenchException e)
        {
            await error.WriteLineAsync($"feature-sidecar: {e.Message}").ConfigureAwait(false);
            return 1;
        }
        finally
        {
            foreach (var connection in connections)
            {
                if (connection is not null)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
    }

    // Recorded in ticks (0.1 µs).
    private static string Micros(LongHistogram histogram, double percentile) =>
        (histogram.GetValueAtPercentile(percentile) / 10.0).ToString("F0", CultureInfo.InvariantCulture);

    private static async Task<LongHistogram> WorkAsync(BenchConnection connection, BenchSettings settings, long end, long[] statuses, CancellationToken cancellationToken)
    {
        var latencies = new LongHistogram(TimeSpan.TicksPerMinute, 3);
        while (Stopwatch.GetTimestamp() < end && !cancellationToken.IsCancellationRequested)
        {
            var sent = Stopwatch.GetTimestamp();
            var status = await connection.LookupAsync(settings.TimeoutMilliseconds, settings.View, settings.Fields, settings.Keys).ConfigureAwait(false);
            latencies.RecordValue(Math.Max(1, Stopwatch.GetElapsedTime(sent).Ticks));
            Interlocked.Increment(ref statuses[(int)status]);
        }
        return latencies;
    }
}
