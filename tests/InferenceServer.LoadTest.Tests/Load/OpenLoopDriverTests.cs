using InferenceServer.LoadTest.Load;
using InferenceServer.LoadTest.Tests.TestDoubles;

namespace InferenceServer.LoadTest.Tests.Load;

public sealed class OpenLoopDriverTests
{
    private static readonly TimeSpan Tick = TimeSpan.FromTicks(1);

    /// <summary>Runs the driver, moving the fake clock to each timer it arms, until the schedule ends.</summary>
    private static async Task<List<(long Sequence, long Intended, long Started)>> DriveAsync(
        ManualTimeProvider clock, ArrivalSchedule schedule, Action<long>? onDispatch = null)
    {
        var dispatched = new List<(long, long, long)>();
        var driver = new OpenLoopDriver(clock, spinWindow: TimeSpan.Zero);
        var run = driver.RunAsync(schedule, clock.GetTimestamp(), (sequence, intended, started) =>
        {
            dispatched.Add((sequence, intended, started));
            onDispatch?.Invoke(sequence);
            return ValueTask.CompletedTask;
        }, CancellationToken.None);
        while (!run.IsCompleted)
        {
            await Task.WhenAny(clock.WaitForArmedTimerAsync(), run);
            if (clock.NextDue is { } due)
            {
                clock.AdvanceTo(due);
            }
        }
        await run;
        return dispatched;
    }

    [Fact]
    public async Task Each_request_starts_exactly_at_its_intended_time_when_the_clock_allows()
    {
        var clock = new ManualTimeProvider();
        clock.Advance(TimeSpan.FromSeconds(5));
        var start = clock.GetTimestamp();

        var dispatched = await DriveAsync(clock, new ArrivalSchedule(LoadProfile.Constant(100, TimeSpan.FromSeconds(1)), ArrivalProcess.Constant));

        Assert.Equal(100, dispatched.Count);
        for (var i = 0; i < dispatched.Count; i++)
        {
            var (sequence, intended, started) = dispatched[i];
            Assert.Equal(i, sequence);
            Assert.Equal(start + (i * TimeSpan.FromMilliseconds(10).Ticks), intended);
            Assert.Equal(intended, started);
        }
    }

    [Fact]
    public async Task A_dispatcher_that_falls_behind_starts_every_request_late_and_skips_none()
    {
        var clock = new ManualTimeProvider();
        var start = clock.GetTimestamp();
        // Every 10th dispatch stalls the dispatcher for 35 ms: the next requests start late until it catches up.
        var dispatched = await DriveAsync(clock, new ArrivalSchedule(LoadProfile.Constant(100, TimeSpan.FromSeconds(1)), ArrivalProcess.Constant),
            sequence => clock.Advance(sequence % 10 == 0 ? TimeSpan.FromMilliseconds(35) : TimeSpan.Zero));

        Assert.Equal(100, dispatched.Count);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), dispatched.Select(d => d.Sequence));
        var lateness = dispatched.Select(d => TimeSpan.FromTicks(d.Started - d.Intended)).ToList();
        // After request 0 stalls to 35 ms, requests 1–3 (due at 10, 20, 30 ms) start at 35 ms; request 4 (40 ms) is on time.
        Assert.Equal(TimeSpan.Zero, lateness[0]);
        Assert.Equal(TimeSpan.FromMilliseconds(25), lateness[1]);
        Assert.Equal(TimeSpan.FromMilliseconds(15), lateness[2]);
        Assert.Equal(TimeSpan.FromMilliseconds(5), lateness[3]);
        Assert.Equal(TimeSpan.Zero, lateness[4]);
        Assert.Equal(30, lateness.Count(l => l > TimeSpan.Zero));
        Assert.All(dispatched, d => Assert.Equal(start + (d.Sequence * TimeSpan.FromMilliseconds(10).Ticks), d.Intended));
    }

    [Fact]
    public async Task Poisson_arrivals_are_started_at_their_own_intended_times()
    {
        var clock = new ManualTimeProvider();
        var start = clock.GetTimestamp();
        var expected = new List<double>();
        var copy = new ArrivalSchedule(LoadProfile.Constant(200, TimeSpan.FromSeconds(2)), ArrivalProcess.Poisson, seed: 9);
        while (copy.TryNext(out var t))
        {
            expected.Add(t);
        }

        var dispatched = await DriveAsync(clock, new ArrivalSchedule(LoadProfile.Constant(200, TimeSpan.FromSeconds(2)), ArrivalProcess.Poisson, seed: 9));

        Assert.Equal(expected.Count, dispatched.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(start + (long)Math.Round(expected[i] * TimeSpan.TicksPerSecond), dispatched[i].Intended);
            Assert.Equal(dispatched[i].Intended, dispatched[i].Started);
        }
    }

    [Fact]
    public async Task Cancelling_stops_the_schedule_before_its_end()
    {
        var clock = new ManualTimeProvider();
        using var cancel = new CancellationTokenSource();
        var count = 0;
        var driver = new OpenLoopDriver(clock, TimeSpan.Zero);
        var run = driver.RunAsync(new ArrivalSchedule(LoadProfile.Constant(10, TimeSpan.FromSeconds(10)), ArrivalProcess.Constant), clock.GetTimestamp(), (_, _, _) =>
        {
            if (++count == 5)
            {
                cancel.Cancel();
            }
            return ValueTask.CompletedTask;
        }, cancel.Token);
        while (!run.IsCompleted)
        {
            await Task.WhenAny(clock.WaitForArmedTimerAsync(), run);
            if (clock.NextDue is { } due)
            {
                clock.AdvanceTo(due);
            }
        }
        await run;
        Assert.Equal(5, count);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1));
    }
}
