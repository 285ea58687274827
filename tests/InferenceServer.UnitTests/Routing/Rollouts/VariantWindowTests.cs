using InferenceServer.Core.Routing.Rollouts;

namespace InferenceServer.UnitTests.Routing.Rollouts;

/// <summary>A variant's step window: exact counts from many threads, percentiles of the successes, a reset per step.</summary>
public sealed class VariantWindowTests
{
    [Fact]
    public void Counts_every_request_and_times_only_the_successes()
    {
        var window = new VariantWindow();
        for (var ms = 1; ms <= 100; ms++)
        {
            window.Record(true, TimeSpan.FromMilliseconds(ms));
        }
        // Failures that took long: they count as failures, not in the latency percentiles.
        for (var i = 0; i < 10; i++)
        {
            window.Record(false, TimeSpan.FromSeconds(30));
        }

        var snapshot = window.Snapshot();
        Assert.Equal((110, 10, 100), (snapshot.Requests, snapshot.Failures, snapshot.LatencySamples));
        Assert.Equal(10.0 / 110, snapshot.ErrorRate, 12);
        // Two significant digits: within 1% of the true percentile.
        Assert.InRange(snapshot.P50Ms, 50 * 0.99, 50 * 1.01);
        Assert.InRange(snapshot.P99Ms, 99 * 0.99, 99 * 1.01);
    }

    [Fact]
    public void Reads_accumulate_over_the_step_and_a_reset_starts_afresh()
    {
        var window = new VariantWindow();
        Assert.Equal(default(VariantWindowSnapshot), window.Snapshot());
        Assert.Equal(0, window.Snapshot().ErrorRate);

        window.Record(true, TimeSpan.FromMilliseconds(10));
        Assert.Equal(1, window.Snapshot().LatencySamples);
        // A read takes what was recorded since the previous one into the step's total: nothing is lost between reads.
        window.Record(true, TimeSpan.FromMilliseconds(20));
        window.Record(false, TimeSpan.Zero);
        var snapshot = window.Snapshot();
        Assert.Equal((3, 1, 2), (snapshot.Requests, snapshot.Failures, snapshot.LatencySamples));
        Assert.InRange(snapshot.P99Ms, 19.8, 20.2);

        window.Reset();
        Assert.Equal(default(VariantWindowSnapshot), window.Snapshot());
        window.Record(true, TimeSpan.FromMilliseconds(2));
        snapshot = window.Snapshot();
        Assert.Equal((1, 0, 1), (snapshot.Requests, snapshot.Failures, snapshot.LatencySamples));
        Assert.InRange(snapshot.P99Ms, 1.98, 2.02);
    }

    [Fact]
    public void A_latency_out_of_range_is_clamped_not_refused()
    {
        var window = new VariantWindow();
        window.Record(true, TimeSpan.FromHours(2));
        window.Record(true, TimeSpan.FromTicks(-5));
        var snapshot = window.Snapshot();
        Assert.Equal(2, snapshot.LatencySamples);
        Assert.InRange(snapshot.P99Ms, VariantWindow.HighestMicroseconds / 1000.0 * 0.99, VariantWindow.HighestMicroseconds / 1000.0 * 1.01);
        Assert.Equal(0, snapshot.P50Ms);
    }

    [Fact]
    public async Task Records_from_many_threads_while_another_reads_are_all_counted()
    {
        const int Threads = 8;
        const int PerThread = 20_000;
        var window = new VariantWindow();
        using var stop = new CancellationTokenSource();
        var reading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reader = Task.Run(() =>
        {
            var reads = 0;
            do
            {
                var snapshot = window.Snapshot();
                Assert.True(snapshot.Failures <= snapshot.Requests);
                reads++;
                reading.TrySetResult();
            }
            while (!stop.IsCancellationRequested);
            return reads;
        });
        // The writers start once the reader is reading, so that the two overlap even on a busy machine.
        await reading.Task;
        var writers = new Task[Threads];
        for (var t = 0; t < Threads; t++)
        {
            writers[t] = Task.Run(() =>
            {
                for (var i = 0; i < PerThread; i++)
                {
                    // Every tenth fails.
                    window.Record(i % 10 != 0, TimeSpan.FromMicroseconds(100 + (i % 1000)));
                }
            });
        }
        await Task.WhenAll(writers);
        stop.Cancel();
        Assert.True(await reader > 0);

        var total = window.Snapshot();
        Assert.Equal(Threads * PerThread, total.Requests);
        Assert.Equal(Threads * PerThread / 10, total.Failures);
        Assert.Equal(Threads * PerThread * 9 / 10, total.LatencySamples);
    }
}
