using InferenceServer.Core.Inference;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Routing.Shadow;

/// <summary>
/// A request picked for the shadow: a copy of its inputs, taken before the primary ran (the primary's run may reshape
/// or release them), waiting for the primary's answer. The caller ends it exactly once: <see cref="Send"/> with the
/// primary's answer, or <see cref="Cancel"/> when the primary failed; the first of the two decides and a later call
/// does nothing, so a <c>finally { copy.Cancel(); }</c> after a send is safe. Every buffer the copy holds goes back to
/// its pool however it ends.
/// </summary>
internal sealed class ShadowCopy
{
    private const int Pending = 0;
    private const int Ended = 1;

    private readonly ShadowMirror _mirror;
    private InferenceRequest? _request;
    private Tensor[]? _primaryOutputs;
    private int _state;

    internal ShadowCopy(ShadowMirror mirror, InferenceRequest request)
    {
        _mirror = mirror;
        _request = request;
    }

    /// <summary>The copied request the shadow runs; owned by the copy, which releases it.</summary>
    internal InferenceRequest Request => _request ?? throw new ObjectDisposedException(nameof(ShadowCopy), "the shadow copy was already released");

    /// <summary>The copies of the primary's outputs, once sent; owned by the copy.</summary>
    internal Tensor[] PrimaryOutputs => _primaryOutputs ?? [];

    /// <summary>
    /// Copies the outputs of <paramref name="primary"/> (the caller keeps and disposes it) and queues the copy for the
    /// shadow; when the queue is full the copy is dropped and counted. Never throws.
    /// </summary>
    public void Send(InferenceResponse primary)
    {
        if (Interlocked.Exchange(ref _state, Ended) == Pending)
        {
            _mirror.Enqueue(this, primary);
        }
    }

    /// <summary>The primary failed: there is nothing to compare with, so the copy is released and counted as canceled.</summary>
    public void Cancel()
    {
        if (Interlocked.Exchange(ref _state, Ended) == Pending)
        {
            _mirror.Canceled(this);
        }
    }

    internal void Attach(Tensor[] primaryOutputs) => _primaryOutputs = primaryOutputs;

    /// <summary>Returns every buffer the copy holds to its pool; once only, whoever calls it.</summary>
    internal void Release()
    {
        Interlocked.Exchange(ref _request, null)?.Dispose();
        var outputs = Interlocked.Exchange(ref _primaryOutputs, null);
        if (outputs is not null)
        {
            foreach (var output in outputs)
            {
                output.Dispose();
            }
        }
    }
}
