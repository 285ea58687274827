namespace InferenceServer.Core.Repository;

/// <summary>A warm-up input: type, dims and where its data comes from.</summary>
public sealed record WarmupInputConfig
{
    /// <summary><c>data_type</c>.</summary>
    public required Tensors.DataType DataType { get; init; }

    /// <summary><c>dims</c>, without the batch dimension.</summary>
    public required long[] Dims { get; init; }

    /// <summary>Which of <c>zero_data</c>, <c>random_data</c>, <c>input_data_file</c>.</summary>
    public WarmupDataSource Source { get; init; } = WarmupDataSource.Zero;

    /// <summary><c>input_data_file</c>, relative to the model's <c>warmup</c> folder.</summary>
    public string InputDataFile { get; init; } = "";
}
