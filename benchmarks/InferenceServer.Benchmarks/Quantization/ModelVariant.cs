namespace InferenceServer.Benchmarks.Quantization;

/// <summary>One model file to measure, under the name the results table gives it (e.g. <c>encoder/int8-dynamic</c>).</summary>
/// <param name="Name">The row's name: model and precision.</param>
/// <param name="Path">The model file.</param>
public sealed record ModelVariant(string Name, string Path)
{
    /// <summary>BenchmarkDotNet prints a parameter by its text: the name, not the path.</summary>
    public override string ToString() => Name;
}
