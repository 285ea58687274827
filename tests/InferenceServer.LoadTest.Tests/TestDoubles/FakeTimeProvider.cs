namespace InferenceServer.LoadTest.Tests.TestDoubles;

/// <summary>
/// A clock that moves only when told. Timestamps are <see cref="TimeSpan"/> ticks (100 ns). Timers fire inside
/// <see cref="Advance"/>, in due order, each at its own due time, on the calling thread. Tests that drive code which
/// waits on this clock wait for it to arm a timer (<see cref="WaitForArmedTimerAsync"/>) before moving on.
/// </summary>
public sealed class FakeTimeProvider : TimeProvider
{
    private readonly Lock _lock = new();
    private readonly List<FakeTimer> _timers = [];
    private readonly List<TaskCompletionSource> _armWaiters = [];
    private readonly DateTimeOffset _epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private long _now;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp()
    {
        lock (_lock)
        {
            return _now;
        }
    }

    public override DateTimeOffset GetUtcNow() => _epoch + TimeSpan.FromTicks(GetTimestamp());

    /// <summary>The time since the clock was created.</summary>
    public TimeSpan Elapsed => TimeSpan.FromTicks(GetTimestamp());

    /// <summary>When the earliest armed timer is due, or null when none is armed.</summary>
    public long? NextDue
    {
        get
        {
            lock (_lock)
            {
                long? next = null;
                foreach (var timer in _timers)
                {
                    if (timer.Due is { } due && (next is null || due < next))
                    {
                        next = due;
                    }
                }
                return next;
            }
        }
    }

    /// <summary>Moves the clock forward by <paramref name="delta"/>, firing each timer that comes due at its due time.</summary>
    public void Advance(TimeSpan delta)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delta, TimeSpan.Zero);
        long target;
        lock (_lock)
        {
            target = _now + delta.Ticks;
        }
        AdvanceTo(target);
    }

    /// <summary>Moves the clock to <paramref name="timestamp"/> (never back), firing what comes due.</summary>
    public void AdvanceTo(long timestamp)
    {
        while (true)
        {
            FakeTimer? fire = null;
            lock (_lock)
            {
                foreach (var timer in _timers)
                {
                    if (timer.Due is { } due && due <= timestamp && (fire is null || due < fire.Due))
                    {
                        fire = timer;
                    }
                }
                if (fire is null)
                {
                    _now = Math.Max(_now, timestamp);
                    return;
                }
                _now = Math.Max(_now, fire.Due!.Value);
                fire.Due = fire.Period > 0 ? fire.Due + fire.Period : null;
            }
            fire.Callback(fire.State);
        }
    }

    /// <summary>Completes when a timer is armed (at once if one is).</summary>
    public Task WaitForArmedTimerAsync()
    {
        lock (_lock)
        {
            if (_timers.Exists(t => t.Due is not null))
            {
                return Task.CompletedTask;
            }
            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _armWaiters.Add(waiter);
            return waiter.Task;
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new FakeTimer(this, callback, state);
        lock (_lock)
        {
            _timers.Add(timer);
        }
        timer.Change(dueTime, period);
        return timer;
    }

    private void Arm(FakeTimer timer, TimeSpan dueTime, TimeSpan period)
    {
        var fireNow = false;
        lock (_lock)
        {
            if (!_timers.Contains(timer))
            {
                return;
            }
            timer.Period = period > TimeSpan.Zero && period != Timeout.InfiniteTimeSpan ? period.Ticks : 0;
            if (dueTime == Timeout.InfiniteTimeSpan)
            {
                timer.Due = null;
                return;
            }
            if (dueTime <= TimeSpan.Zero)
            {
                fireNow = true;
                timer.Due = timer.Period > 0 ? _now + timer.Period : null;
            }
            else
            {
                timer.Due = _now + dueTime.Ticks;
            }
            foreach (var waiter in _armWaiters)
            {
                waiter.TrySetResult();
            }
            _armWaiters.Clear();
        }
        if (fireNow)
        {
            // As a real timer does with a zero due time: soon, on another thread.
            ThreadPool.QueueUserWorkItem(static t => t.Callback(t.State), timer, preferLocal: false);
        }
    }

    private void Remove(FakeTimer timer)
    {
        lock (_lock)
        {
            _timers.Remove(timer);
        }
    }

    private sealed class FakeTimer(FakeTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public long? Due { get; set; }

        public long Period { get; set; }

        public TimerCallback Callback => callback;

        public object? State => state;

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
