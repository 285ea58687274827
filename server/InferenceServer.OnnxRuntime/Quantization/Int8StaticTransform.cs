using InferenceServer.Core.Quantization;
using InferenceServer.Core.Tensors;

namespace InferenceServer.OnnxRuntime.Quantization;

internal sealed class Int8StaticTransform(QuantizeSettings settings, QuantizationLog log)
{
    public void Apply(GraphRewriter graph, string parentPath, IReadOnlyList<IReadOnlyList<Tensor>> calibration, CancellationToken cancellationToken)
    {
        _ = (settings, log, graph, parentPath, calibration, cancellationToken);
        throw new QuantizationException("int8-static is not built yet");
    }
}
