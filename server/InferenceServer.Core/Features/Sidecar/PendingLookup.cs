namespace InferenceServer.Core.Features.Sidecar;

/// <summary>One lookup on its way: what it asks, until when, and the completion its caller awaits.</summary>
internal sealed class PendingLookup(string view, IReadOnlyList<string> fields, string[] keys, long deadline)
{
    // Continuations run off the connection's read loop, which must go on reading the next answer.
    private readonly TaskCompletionSource<SidecarLookupResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

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
