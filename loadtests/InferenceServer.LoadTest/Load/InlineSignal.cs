using System.Threading.Tasks.Sources;

namespace InferenceServer.LoadTest.Load;

/// <summary>
/// A reusable completion for one waiter at a time whose continuation runs on the thread that completes it. The
/// load loops wait on these instead of <see cref="Task.Delay(TimeSpan, TimeProvider)"/> or a semaphore, whose
/// continuations hop to the thread pool: inline continuations cost nothing in production and let a test that moves
/// a fake clock see every consequence done by the time <c>Advance</c> returns.
/// </summary>
internal sealed class InlineSignal : IValueTaskSource
{
    private ManualResetValueTaskSourceCore<bool> _core; // RunContinuationsAsynchronously stays false

    /// <summary>Arms the signal and returns what the waiter awaits.</summary>
    public ValueTask Arm()
    {
        _core.Reset();
        return new ValueTask(this, _core.Version);
    }

    public void Set() => _core.SetResult(true);

    public void Fail(Exception exception) => _core.SetException(exception);

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags & ~ValueTaskSourceOnCompletedFlags.FlowExecutionContext);
}
