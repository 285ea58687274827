namespace InferenceServer.Core.Features.Sidecar;

/// <summary>One lookup on its way: what it asks, until when, and the completion its caller awaits.</summary>
internal sealed class PendingLookup(string view, IReadOnlyList<string> fields, string[] keys, long deadline)
{
    // The caller's continuation runs on the connection's read loop as the answer is matched: it only makes the request's
    // inputs and queues it for its model (the model runs on the instance's own thread), so the read loop goes on within
    // microseconds, and a prediction by entity waits for no thread-pool thread to wake between the answer and its model.
    private readonly TaskCompletionSource<SidecarLookupResult> _completion = new();

    public string View { get; } = view;

    public IReadOnlyList<string> Fields { get; } = fields;

    public string[] Keys { get; } = keys;

    /// <summary>When the caller stops waiting (a <see cref="TimeProvider"/> timestamp).</summary>
    public long Deadline { get; } = deadline;

    public Task<SidecarLookupResult> Task => _completion.Task;

    /// <summary>True once the caller stopped waiting (deadline, cancellation): the lookup need not be sent any more.</summary>
    public bool Abandoned => _completion.Task.IsCompleted;

    /// <summary>Hands <paramref name="result"/> to the caller; when the caller is gone, it is released here.</summary>
    public void Complete(SidecarLookupResult result)
    {
        if (!_completion.TrySetResult(result))
        {
            result.Dispose();
        }
    }

    /// <summary>The caller stopped waiting: an answer that comes later is released unread.</summary>
    public void Abandon() => _completion.TrySetCanceled();
}
