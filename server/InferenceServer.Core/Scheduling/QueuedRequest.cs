using System.Threading.Tasks.Sources;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Scheduling;

/// <summary>
/// One request inside the <see cref="ModelScheduler"/>: its queue links, its scheduling state and
/// the completion the caller awaits. Pooled: the caller's <see cref="ValueTask{TResult}"/> is backed
/// by this object, which goes back to the scheduler's pool once the result is read, so steady-state
/// traffic allocates no queue nodes and no tasks.
/// </summary>
internal sealed class QueuedRequest : IValueTaskSource<Tensor[]>
{
    // Continuations normally run on the thread pool: completion happens on an instance's thread, which
    // must go back to running batches rather than encoding some client's response (see Signal).
    private ManualResetValueTaskSourceCore<Tensor[]> _core = new() { RunContinuationsAsynchronously = true };
    private readonly ModelScheduler _owner;
    private CancellationTokenRegistration _registration;

    public QueuedRequest(ModelScheduler owner) => _owner = owner;

    public SchedulerWork Work { get; set; } = null!;

    public CancellationToken CancellationToken { get; set; }

    public RequestState State { get; set; }

    /// <summary>The request's batch dimension (its first input's first dimension).</summary>
    public int BatchSize { get; set; }

    public PriorityLevel Level { get; set; } = null!;

    /// <summary><see cref="TimeProvider.GetTimestamp"/> when the request entered the queue.</summary>
    public long EnqueuedAt { get; set; }

    /// <summary>Timestamp at which the queue timeout expires; <see cref="long.MaxValue"/> for none.</summary>
    public long Deadline { get; set; }

    /// <summary>The timeout that applies, for the error message.</summary>
    public long TimeoutMicroseconds { get; set; }

    // Links of the priority level's list the request waits in.
    public RequestList? List { get; set; }

    public QueuedRequest? Next { get; set; }

    public QueuedRequest? Previous { get; set; }

    /// <summary>Chains requests that one drain pass expired, to fail them outside the lock.</summary>
    public QueuedRequest? NextExpired { get; set; }

    /// <summary>Arrival order, kept only when responses must preserve it.</summary>
    public QueuedRequest? NextArrived { get; set; }

    /// <summary>The outcome is known and waits for earlier requests (preserve_ordering).</summary>
    public bool Finished { get; set; }

    public Tensor[]? Result { get; set; }

    public Exception? Error { get; set; }

    public short Version => _core.Version;

    public void RegisterCancellation()
    {
        if (CancellationToken.CanBeCanceled)
        {
            _registration = CancellationToken.UnsafeRegister(
                static state => { var request = (QueuedRequest)state!; request._owner.OnCanceled(request); }, this);
        }
    }

    /// <summary>
    /// Unregisters from the token, waiting for a callback already under way; after this no
    /// callback can touch the request again, so it is safe to complete and recycle.
    /// </summary>
    public void ReleaseCancellation()
    {
        _registration.Dispose();
        _registration = default;
    }

    /// <summary>
    /// Publishes <see cref="Result"/> or <see cref="Error"/>; the request may be recycled as soon as this returns.
    /// <paramref name="inline"/>: the caller's continuation runs here, on the completing thread, instead of on the
    /// thread pool.
    /// </summary>
    public void Signal(bool inline = false)
    {
        _core.RunContinuationsAsynchronously = !inline;
        var error = Error;
        if (error is null)
        {
            _core.SetResult(Result!);
        }
        else
        {
            _core.SetException(error);
        }
    }

    public void Reset()
    {
        _core.Reset();
        _registration = default;
        Work = null!;
        CancellationToken = default;
        State = RequestState.New;
        Level = null!;
        List = null;
        Next = null;
        Previous = null;
        NextExpired = null;
        NextArrived = null;
        Finished = false;
        Result = null;
        Error = null;
    }

    public Tensor[] GetResult(short token)
    {
        var current = token == _core.Version;
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            if (current)
            {
                _owner.Return(this);
            }
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
