namespace InferenceServer.Core.Repository;

/// <summary>One <c>input</c> or <c>output</c> entry.</summary>
public sealed record TensorConfig
{
    /// <summary><c>name</c>.</summary>
    public required string Name { get; init; }

    /// <summary><c>data_type</c>.</summary>
    public required Tensors.DataType DataType { get; init; }

    /// <summary><c>dims</c>, without the batch dimension when <c>max_batch_size</c> &gt; 0; -1 is dynamic.</summary>
    public required long[] Dims { get; init; }

    /// <summary><c>reshape.shape</c>: the shape the model itself sees, when it differs from <see cref="Dims"/>.</summary>
    public long[]? Reshape { get; init; }

    /// <summary><c>optional</c> (inputs only): a request may omit it.</summary>
    public bool Optional { get; init; }

    /// <summary><c>format</c> (inputs only), e.g. <c>FORMAT_NCHW</c>; empty when not given.</summary>
    public string Format { get; init; } = "";

    /// <summary><c>label_filename</c> (outputs only); empty when not given.</summary>
    public string LabelFilename { get; init; } = "";
}
