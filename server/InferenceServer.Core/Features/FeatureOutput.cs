using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Features;

/// <summary>One tensor a view produces: a model input, <c>[rows, Width]</c> of <see cref="DataType"/>.</summary>
public sealed class FeatureOutput
{
    internal FeatureOutput(string name, DataType dataType, int width)
    {
        Name = name;
        DataType = dataType;
        Width = width;
    }

    /// <summary>The model input it feeds.</summary>
    public string Name { get; }

    /// <summary>Its element type.</summary>
    public DataType DataType { get; }

    /// <summary>Columns per row: the sum of its features' widths.</summary>
    public int Width { get; }
}
