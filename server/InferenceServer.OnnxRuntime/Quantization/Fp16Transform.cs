using InferenceServer.Core.Quantization;

namespace InferenceServer.OnnxRuntime.Quantization;

internal sealed class Fp16Transform(QuantizeSettings settings, QuantizationLog log)
{
    public void Apply(GraphRewriter graph, CancellationToken cancellationToken)
    {
        _ = (settings, log, graph, cancellationToken);
        throw new QuantizationException("fp16 is not built yet");
    }
}
