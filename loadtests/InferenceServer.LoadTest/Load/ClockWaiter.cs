namespace InferenceServer.LoadTest.Load;

/// <summary>
/// Waits on a <see cref="TimeProvider"/> with one reusable timer, for one waiter at a time; the waiter continues on
/// the thread that fires the timer (see <see cref="InlineSignal"/>). Cancellation ends the wait with
/// <see cref="OperationCanceledException"/>.
/// </summary>
internal sealed class ClockWaiter : IDisposable
{
    private readonly ITimer _timer;
    private readonly InlineSignal _signal = new();
    private CancellationTokenRegistration _registration;
    private int _waiting;

    public ClockWaiter(TimeProvider time) =>
        _timer = time.CreateTimer(static state => ((ClockWaiter)state!).Fire(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);

    /// <summary>Waits <paramref name="delay"/>; a zero or negative delay completes at once.</summary>
    public ValueTask WaitAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        if (delay <= TimeSpan.Zero)
        {
            return ValueTask.CompletedTask;
        }
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }
        var wait = _signal.Arm();
        Volatile.Write(ref _waiting, 1);
        _registration = cancellationToken.UnsafeRegister(static (state, token) => ((ClockWaiter)state!).Cancel(token), this);
        _timer.Change(delay, Timeout.InfiniteTimeSpan);
        return wait;
    }

    public void Dispose()
    {
        _registration.Dispose();
        _timer.Dispose();
    }

    private void Fire()
    {
        if (Interlocked.Exchange(ref _waiting, 0) == 1)
        {
            _registration.Unregister();
            _signal.Set();
        }
    }

    private void Cancel(CancellationToken token)
    {
        if (Interlocked.Exchange(ref _waiting, 0) == 1)
        {
            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _signal.Fail(new OperationCanceledException(token));
        }
    }
}
