namespace InferenceServer.OnnxRuntime;

/// <summary>
/// How to know an output's shape before the run, so that ONNX Runtime can write it straight into a
/// pooled tensor: each dimension is either fixed by the model or named by a symbol (e.g. <c>batch</c>)
/// that one of the inputs also carries, and so takes that input's size there. ONNX Runtime relies on
/// the same rule (one symbol, one size) and refuses a pre-allocated output whose shape is wrong.
/// </summary>
internal sealed class OutputShapePlan
{
    // Per dimension: the fixed size, or -1 and the (input, dimension) whose size it takes.
    private readonly long[] _fixed;
    private readonly (int Input, int Dimension)[] _sources;

    private OutputShapePlan(long[] fixedDims, (int, int)[] sources)
    {
        _fixed = fixedDims;
        _sources = sources;
    }

    /// <summary>A plan for an output of <paramref name="shape"/> (-1 dynamic), or null when some dimension cannot be known in advance.</summary>
    public static OutputShapePlan? Create(long[] shape, string[] symbols, string[][] inputSymbols)
    {
        var sources = new (int, int)[shape.Length];
        for (var d = 0; d < shape.Length; d++)
        {
            if (shape[d] >= 0)
            {
                continue;
            }
            var symbol = d < symbols.Length ? symbols[d] : "";
            if (string.IsNullOrEmpty(symbol) || Find(symbol, inputSymbols) is not { } source)
            {
                return null;
            }
            sources[d] = source;
        }
        return new OutputShapePlan((long[])shape.Clone(), sources);
    }

    /// <summary>The shape for this run; <paramref name="inputs"/> are indexed like the model's inputs.</summary>
    public long[] Resolve(Core.Tensors.Tensor?[] inputs)
    {
        var shape = new long[_fixed.Length];
        for (var d = 0; d < shape.Length; d++)
        {
            shape[d] = _fixed[d] >= 0 ? _fixed[d] : inputs[_sources[d].Input]!.Shape[_sources[d].Dimension];
        }
        return shape;
    }

    private static (int, int)? Find(string symbol, string[][] inputSymbols)
    {
        for (var i = 0; i < inputSymbols.Length; i++)
        {
            var dims = inputSymbols[i];
            for (var d = 0; d < dims.Length; d++)
            {
                if (dims[d] == symbol)
                {
                    return (i, d);
                }
            }
        }
        return null;
    }
}
