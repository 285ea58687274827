namespace InferenceServer.Tests.Common;

/// <summary>
/// The tests' one fake clock: it moves only when a test says so. Timestamps are <see cref="TimeSpan"/> ticks from 0
/// (1 µs = 10 ticks), consistent with <see cref="GetUtcNow"/>; timers made by <see cref="CreateTimer"/> fire inside
/// <see cref="Advance"/>, in due order, each at its own due time, on the calling thread (a zero due time fires on
/// the thread pool, as a real timer does). Code that waits on this clock is driven by first waiting for it to arm a
/// timer (<see cref="WaitForArmedTimerAsync"/>).
/// </summary>
/// <remarks>
/// Microsoft.Extensions.TimeProvider.Testing's FakeTimeProvider has no way to wait for the code under test to arm a
/// timer, which the scheduler and load-generator tests rely on to step through waits without sleeping.
/// </remarks>
public sealed class ManualTimeProvider : TimeProvider
{
    private readonly Lock _lock = new();
    private readonly List<ManualTimer> _timers = [];
    private readonly List<TaskCompletionSource> _armWaiters = [];
    private DateTimeOffset _now;
    private long _timestamp;

    /// <summary>Starts at <paramref name="start"/> (default 2025-01-01 UTC).</summary>
    public ManualTimeProvider(DateTimeOffset? start = null) => _now = start ?? new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <inheritdoc />
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow()
    {
        lock (_lock)
        {
            return _now;
        }
    }

    /// <inheritdoc />
    public override long GetTimestamp()
    {
        lock (_lock)
        {
            return _timestamp;
        }
    }

    /// <summary>The time since the clock was created.</summary>
    public TimeSpan Elapsed => TimeSpan.FromTicks(GetTimestamp());

    /// <summary>When the earliest armed timer is due (a timestamp), or null when none is armed.</summary>
    public long? NextDue
    {
        get
        {
            lock (_lock)
            {
                long? next = null;
                foreach (var timer in _timers)
                {
                    if (timer.DueAt != long.MaxValue && (next is null || timer.DueAt < next))
                    {
                        next = timer.DueAt;
                    }
                }
                return next;
            }
        }
    }

    /// <summary>How many timers are armed now (due at a finite time).</summary>
    public int ArmedTimers
    {
        get
        {
            lock (_lock)
            {
                var armed = 0;
                foreach (var timer in _timers)
                {
                    if (timer.DueAt != long.MaxValue)
                    {
                        armed++;
                    }
                }
                return armed;
            }
        }
    }

    /// <summary>Moves the clock to <paramref name="value"/> (never backwards) and fires what became due.</summary>
    public void SetUtcNow(DateTimeOffset value)
    {
        TimeSpan delta;
        lock (_lock)
        {
            delta = value - _now;
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(delta, TimeSpan.Zero);
        Advance(delta);
    }

    /// <summary>Moves the clock forward and fires every timer that is due, in due order.</summary>
    public void Advance(TimeSpan delta)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delta, TimeSpan.Zero);
        long target;
        lock (_lock)
        {
            target = _timestamp + delta.Ticks;
        }
        AdvanceTo(target);
    }

    /// <summary>Moves the clock to the timestamp <paramref name="target"/> (never back), firing what comes due.</summary>
    public void AdvanceTo(long target)
    {
        while (true)
        {
            ManualTimer? due = null;
            lock (_lock)
            {
                foreach (var timer in _timers)
                {
                    if (timer.DueAt <= target && (due is null || timer.DueAt < due.DueAt))
                    {
                        due = timer;
                    }
                }
                var step = Math.Max(due is null ? target : due.DueAt, _timestamp);
                _now += TimeSpan.FromTicks(step - _timestamp);
                _timestamp = step;
                if (due is null)
                {
                    return;
                }
                due.DueAt = due.Period > 0 ? due.DueAt + due.Period : long.MaxValue;
            }
            due.Fire();
        }
    }

    /// <summary>Completes once some timer is armed (at once if one already is): the code under test decided to wait.</summary>
    public Task WaitForArmedTimerAsync()
    {
        lock (_lock)
        {
            foreach (var timer in _timers)
            {
                if (timer.DueAt != long.MaxValue)
                {
                    return Task.CompletedTask;
                }
            }
            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _armWaiters.Add(waiter);
            return waiter.Task;
        }
    }

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        lock (_lock)
        {
            _timers.Add(timer);
        }
        timer.Change(dueTime, period);
        return timer;
    }

    private void Arm(ManualTimer timer, TimeSpan dueTime, TimeSpan period)
    {
        var fireNow = false;
        lock (_lock)
        {
            if (!_timers.Contains(timer))
            {
                return;
            }
            timer.Period = period == Timeout.InfiniteTimeSpan || period <= TimeSpan.Zero ? 0 : period.Ticks;
            if (dueTime == Timeout.InfiniteTimeSpan)
            {
                timer.DueAt = long.MaxValue;
                return;
            }
            // A zero due time means "now", as with a real timer: fire it on the thread pool.
            fireNow = dueTime <= TimeSpan.Zero;
            timer.DueAt = fireNow ? (timer.Period > 0 ? _timestamp + timer.Period : long.MaxValue) : _timestamp + dueTime.Ticks;
            foreach (var waiter in _armWaiters)
            {
                waiter.TrySetResult();
            }
            _armWaiters.Clear();
        }
        if (fireNow)
        {
            ThreadPool.QueueUserWorkItem(static t => t.Fire(), timer, preferLocal: false);
        }
    }

    private void Remove(ManualTimer timer)
    {
        lock (_lock)
        {
            _timers.Remove(timer);
        }
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public long DueAt { get; set; } = long.MaxValue;

        public long Period { get; set; }

        public void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            owner.Arm(this, dueTime, period);
            return true;
        }

        public void Dispose() => owner.Remove(this);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
