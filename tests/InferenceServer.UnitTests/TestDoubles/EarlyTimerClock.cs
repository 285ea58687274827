namespace InferenceServer.UnitTests.TestDoubles;

/// <summary>
/// A view of a <see cref="ManualTimeProvider"/> whose timers fire <c>early</c> before the time they were set for, as
/// real timers can: .NET's timer queue counts on a coarse millisecond clock (on Linux it can run a few milliseconds
/// behind the precise timestamps code measures with), so a timer may fire when the timestamp has not yet reached its due time.
/// </summary>
public sealed class EarlyTimerClock(ManualTimeProvider clock, TimeSpan early) : TimeProvider
{
    /// <inheritdoc />
    public override long TimestampFrequency => clock.TimestampFrequency;

    /// <inheritdoc />
    public override long GetTimestamp() => clock.GetTimestamp();

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow() => clock.GetUtcNow();

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        new EarlyTimer(clock.CreateTimer(callback, state, Early(dueTime), period), early);

    private TimeSpan Early(TimeSpan dueTime) => Early(dueTime, early);

    private static TimeSpan Early(TimeSpan dueTime, TimeSpan early) =>
        dueTime == Timeout.InfiniteTimeSpan ? dueTime : dueTime - early > TimeSpan.Zero ? dueTime - early : TimeSpan.Zero;

    private sealed class EarlyTimer(ITimer inner, TimeSpan early) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period) => inner.Change(Early(dueTime, early), period);

        public void Dispose() => inner.Dispose();

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
