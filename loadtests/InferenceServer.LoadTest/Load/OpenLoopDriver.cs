namespace InferenceServer.LoadTest.Load;

/// <summary>
/// Starts requests at their intended times. It waits on <see cref="TimeProvider"/> (so tests drive it with a fake
/// clock) and, for the last <c>spinWindow</c> before a due time, spins on the clock, because timers fire only to
/// about a millisecond and latency is measured from the intended time: a late timer would read as server latency.
/// A request that is already due starts at once, however late; the driver never skips or bunches the schedule, and
/// lateness is reported through the dispatch callback.
/// </summary>
internal sealed class OpenLoopDriver(TimeProvider time, TimeSpan spinWindow)
{
    /// <summary>
    /// Runs <paramref name="schedule"/> from <paramref name="startTimestamp"/> (in <paramref name="time"/>'s
    /// timestamps), calling <paramref name="dispatch"/> with each arrival's sequence number, intended timestamp and
    /// the timestamp it actually started at. Returns when the schedule ends or <paramref name="cancellationToken"/> fires.
    /// </summary>
    public async Task RunAsync(ArrivalSchedule schedule, long startTimestamp, Func<long, long, long, ValueTask> dispatch, CancellationToken cancellationToken)
    {
        using var waiter = new ClockWaiter(time);
        var frequency = (double)time.TimestampFrequency;
        long sequence = 0;
        while (!cancellationToken.IsCancellationRequested && schedule.TryNext(out var offset))
        {
            var intended = startTimestamp + (long)Math.Round(offset * frequency);
            var now = time.GetTimestamp();
            if (now < intended)
            {
                if (!await WaitUntilAsync(waiter, intended, now, cancellationToken).ConfigureAwait(false))
                {
                    return;
                }
                now = time.GetTimestamp();
            }
            await dispatch(sequence++, intended, now).ConfigureAwait(false);
        }
    }

    private async ValueTask<bool> WaitUntilAsync(ClockWaiter waiter, long target, long now, CancellationToken cancellationToken)
    {
        var remaining = TimeSpan.FromTicks((long)((target - now) * (double)TimeSpan.TicksPerSecond / time.TimestampFrequency));
        if (remaining > spinWindow)
        {
            try
            {
                await waiter.WaitAsync(remaining - spinWindow, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }
        if (spinWindow > TimeSpan.Zero)
        {
            var spinner = default(SpinWait);
            while (time.GetTimestamp() < target)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    return false;
                }
                // Never Sleep(1): that is the millisecond granularity the spin exists to avoid.
                spinner.SpinOnce(sleep1Threshold: -1);
            }
        }
        return true;
    }
}
