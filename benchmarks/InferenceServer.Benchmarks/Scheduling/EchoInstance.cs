using InferenceServer.Core.Backends;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Benchmarks.Scheduling;

/// <summary>
/// A trivial in-memory instance for measuring scheduler overhead: it answers every batch with one
/// preallocated [batch, 1] FP32 output per name (what the income model returns), so the backend
/// costs next to nothing and allocates only the tensors a real backend would return.
/// </summary>
internal sealed class EchoInstance : IModelInstance
{
    public ModelSignature Signature { get; } = new(
        [new TensorInfo("input", DataType.Fp32, [-1, 58])],
        [new TensorInfo("output", DataType.Fp32, [-1, 1])]);

    public Tensor[] Run(IReadOnlyList<Tensor> inputs, IReadOnlyList<string> outputNames)
    {
        var rows = inputs[0].Shape[0];
        var outputs = new Tensor[outputNames.Count];
        for (var i = 0; i < outputs.Length; i++)
        {
            outputs[i] = Tensor.Allocate(outputNames[i], DataType.Fp32, [rows, 1], (int)rows * sizeof(float));
        }
        return outputs;
    }

    public void Dispose()
    {
    }
}
