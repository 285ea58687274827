namespace InferenceServer.Core.Features;

/// <summary>One output compiled: its features in column order and where each one's columns start.</summary>
internal sealed class OutputPlan(FeatureOutput output, FeatureColumn[] columns, int[] offsets)
{
    public FeatureOutput Output { get; } = output;

    public FeatureColumn[] Columns { get; } = columns;

    /// <summary>The first column of each of <see cref="Columns"/> in a row.</summary>
    public int[] Offsets { get; } = offsets;
}
