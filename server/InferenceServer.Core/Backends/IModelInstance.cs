using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Backends;

/// <summary>
/// One loaded copy of a model that executes one batch at a time. Instances are not shared
/// between threads concurrently: the scheduler hands each batch to one idle instance.
/// </summary>
public interface IModelInstance : IDisposable
{
    /// <summary>The inputs and outputs the model file declares.</summary>
    ModelSignature Signature { get; }

    /// <summary>
    /// The memory this instance holds while it lives, in bytes, as the backend can honestly measure it (each backend
    /// says what it counts); constant once the instance is created. 0 when the backend cannot tell. The registry sums it
    /// per version, so a memory budget can decide what to load and what to evict.
    /// </summary>
    long MemoryBytes => 0;

    /// <summary>
    /// Runs the model. <paramref name="inputs"/> are given by name, with shapes already resolved
    /// (no -1) and types matching <see cref="Signature"/>. Returns one new tensor per name in
    /// <paramref name="outputNames"/>, in that order; the caller owns and disposes them.
    /// Throws <see cref="BackendException"/> when the runtime reports an error.
    /// </summary>
    Tensor[] Run(IReadOnlyList<Tensor> inputs, IReadOnlyList<string> outputNames);
}
