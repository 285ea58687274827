using Google.Protobuf.Collections;

namespace InferenceServer.Core.Repository;

/// <summary>
/// What a config's <c>input</c> and <c>output</c> entries have in common (<see cref="ModelInput"/> and
/// <see cref="ModelOutput"/> declare the same four fields), so that code reading tensors need not care which.
/// </summary>
public interface IModelTensor
{
    /// <summary><c>name</c>.</summary>
    string Name { get; }

    /// <summary><c>data_type</c>.</summary>
    DataType DataType { get; }

    /// <summary><c>dims</c>, without the batch dimension when <c>max_batch_size</c> &gt; 0; -1 is any size.</summary>
    RepeatedField<long> Dims { get; }

    /// <summary><c>reshape</c>: the shape the model itself sees, when it differs from <see cref="Dims"/>; null when not given.</summary>
    ModelTensorReshape? Reshape { get; }
}
