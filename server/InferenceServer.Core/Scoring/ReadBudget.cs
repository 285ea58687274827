namespace InferenceServer.Core.Scoring;

/// <summary>
/// The bytes the splits being read may hold together (their decoded Parquet row groups), handed out first come,
/// first served. A split that needs more than the whole budget is admitted once nothing else is held, alone: the
/// bound is then that split's own size. Thread-safe.
/// </summary>
internal sealed class ReadBudget(long bytes)
{
    private readonly Lock _lock = new();
    private readonly Queue<(long Bytes, TaskCompletionSource Admitted)> _waiting = new();
    private long _held;

    /// <summary>The budget, in bytes.</summary>
    public long Bytes { get; } = Math.Max(0, bytes);

    /// <summary>The most bytes held at once so far.</summary>
    public long PeakHeld { get; private set; }

    /// <summary>The largest single admission so far (above <see cref="Bytes"/> only when it was admitted alone).</summary>
    public long LargestAdmitted { get; private set; }

    /// <summary>Waits until <paramref name="bytes"/> fit beside what is held, after every earlier request; then holds them until released.</summary>
    public Task AcquireAsync(long bytes, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        TaskCompletionSource admitted;
        lock (_lock)
        {
            if (_waiting.Count == 0 && Fits(bytes))
            {
                Admit(bytes);
                return Task.CompletedTask;
            }
            admitted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting.Enqueue((bytes, admitted));
        }
        return WaitAsync(bytes, admitted, cancellationToken);
    }

    private async Task WaitAsync(long bytes, TaskCompletionSource admitted, CancellationToken cancellationToken)
    {
        try
        {
            await admitted.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            lock (_lock)
            {
                // Admitted meanwhile: give the bytes back; else the request is skipped when its turn comes.
                if (!admitted.TrySetCanceled())
                {
                    _held -= bytes;
                }
                AdmitWaiting();
            }
            throw;
        }
    }

    /// <summary>Gives back <paramref name="bytes"/> acquired earlier, admitting whoever waits and now fits.</summary>
    public void Release(long bytes)
    {
        lock (_lock)
        {
            _held -= bytes;
            AdmitWaiting();
        }
    }

    private bool Fits(long bytes) => _held == 0 || _held + bytes <= Bytes;

    private void Admit(long bytes)
    {
        _held += bytes;
        PeakHeld = Math.Max(PeakHeld, _held);
        LargestAdmitted = Math.Max(LargestAdmitted, bytes);
    }

    private void AdmitWaiting()
    {
        while (_waiting.TryPeek(out var next))
        {
            if (next.Admitted.Task.IsCanceled)
            {
                _waiting.Dequeue();
                continue;
            }
            if (!Fits(next.Bytes))
            {
                return;
            }
            _waiting.Dequeue();
            Admit(next.Bytes);
            if (!next.Admitted.TrySetResult())
            {
                _held -= next.Bytes;
            }
        }
    }
}
