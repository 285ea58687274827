using Google.Protobuf.Collections;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Tensors;
using DataType = InferenceServer.Core.Tensors.DataType;

namespace InferenceServer.Core.Inference;

/// <summary>
/// Checks a request against its model's config before it reaches a scheduler, so every protocol
/// gets the same precise 400s: unknown or missing inputs, wrong datatypes, shapes, batch sizes,
/// byte counts and requested outputs.
/// </summary>
public static class RequestValidator
{
    /// <summary>
    /// Throws <see cref="InferenceException"/> (InvalidArgument) naming the first problem found. With
    /// <paramref name="textStrings"/> (the backend's string tensors hold UTF-8 text), every BYTES element must be UTF-8.
    /// </summary>
    public static void Validate(ModelConfig config, InferenceRequest request, bool textStrings = false)
    {
        var batchSize = -1L;
        for (var i = 0; i < request.Inputs.Count; i++)
        {
            var input = request.Inputs[i];
            for (var j = 0; j < i; j++)
            {
                if (request.Inputs[j].Name == input.Name)
                {
                    throw Fail($"input '{input.Name}' is given more than once");
                }
            }
            var expected = FindTensor(config.Input, input.Name)
                ?? throw Fail($"unknown input '{input.Name}' for model '{config.Name}'; its inputs are: {NameList(config.Input)}");
            ValidateInput(config, expected, input, textStrings, ref batchSize);
        }

        for (var i = 0; i < config.Input.Count; i++)
        {
            var expected = config.Input[i];
            if (!expected.Optional && FindInput(request, expected.Name) is null)
            {
                throw Fail($"missing input '{expected.Name}' for model '{config.Name}' (expected {expected.ElementType().ProtocolName()} {ShapeMath.Format(ExpectedShape(config, expected))})");
            }
        }

        for (var i = 0; i < request.RequestedOutputs.Count; i++)
        {
            var name = request.RequestedOutputs[i];
            if (FindTensor(config.Output, name) is null)
            {
                throw Fail($"unknown output '{name}' requested from model '{config.Name}'; its outputs are: {NameList(config.Output)}");
            }
            if (request.RequestedOutputs.IndexOf(name) != i)
            {
                throw Fail($"output '{name}' is requested more than once");
            }
        }
    }

    /// <summary>The full shape a client sends for <paramref name="tensor"/>: -1 leads when the model batches.</summary>
    public static long[] ExpectedShape(ModelConfig config, IModelTensor tensor) =>
        config.MaxBatchSize > 0 ? [-1, .. tensor.Dims] : [.. tensor.Dims];

    private static void ValidateInput(ModelConfig config, ModelInput expected, Tensors.Tensor input, bool textStrings, ref long batchSize)
    {
        var expectedType = expected.ElementType();
        if (input.DataType != expectedType)
        {
            throw Fail($"input '{input.Name}' has datatype {input.DataType.ProtocolName()} but model '{config.Name}' expects {expectedType.ProtocolName()}");
        }

        var shape = input.Shape;
        var batching = config.MaxBatchSize > 0;
        var expectedRank = expected.Dims.Count + (batching ? 1 : 0);
        if (shape.Length != expectedRank || !DimsMatch(shape.AsSpan(batching ? 1 : 0), expected.Dims))
        {
            throw Fail($"input '{input.Name}' has shape {ShapeMath.Format(shape)} but model '{config.Name}' expects {ShapeMath.Format(ExpectedShape(config, expected))}"
                + (batching ? $" where the first dimension is the batch size (1 to {config.MaxBatchSize})" : ""));
        }
        foreach (var dim in shape)
        {
            if (dim < 0)
            {
                throw Fail($"input '{input.Name}' has a negative dimension in shape {ShapeMath.Format(shape)}");
            }
        }
        if (batching)
        {
            var batch = shape[0];
            if (batch < 1 || batch > config.MaxBatchSize)
            {
                throw Fail($"input '{input.Name}' has batch size {batch} but model '{config.Name}' accepts 1 to {config.MaxBatchSize}");
            }
            if (batchSize >= 0 && batch != batchSize)
            {
                throw Fail($"input '{input.Name}' has batch size {batch} but an earlier input has batch size {batchSize}; all inputs must agree");
            }
            batchSize = batch;
        }

        long count;
        try
        {
            count = ShapeMath.ElementCount(shape);
        }
        catch (OverflowException)
        {
            throw Fail($"input '{input.Name}' has shape {ShapeMath.Format(shape)}, whose element count overflows");
        }

        if (expectedType == DataType.Bytes)
        {
            if (!BytesTensorLayout.TryCountElements(input.Data, out var actual, out var error))
            {
                throw Fail($"input '{input.Name}' has malformed BYTES data: {error}");
            }
            if (actual != count)
            {
                throw Fail($"input '{input.Name}' has {actual} BYTES elements but shape {ShapeMath.Format(shape)} needs {count}");
            }
            if (textStrings && BytesTensorLayout.FirstNotUtf8(input.Data) is var element and >= 0)
            {
                throw Fail($"input '{input.Name}' element {element} is not valid UTF-8 text, which model '{config.Name}' needs in its string (BYTES) inputs");
            }
        }
        else
        {
            // Wide enough that a hostile shape (2^61 INT64 elements = 2^64 bytes) cannot wrap to the data's length.
            var needed = (Int128)count * expectedType.ElementSize();
            if (input.ByteLength != needed)
            {
                throw Fail($"input '{input.Name}' has {input.ByteLength} bytes of data but shape {ShapeMath.Format(shape)} of {expectedType.ProtocolName()} needs {needed}");
            }
        }
    }

    private static bool DimsMatch(ReadOnlySpan<long> actual, RepeatedField<long> expected)
    {
        for (var i = 0; i < expected.Count; i++)
        {
            if (expected[i] != -1 && expected[i] != actual[i])
            {
                return false;
            }
        }
        return true;
    }

    private static T? FindTensor<T>(IReadOnlyList<T> tensors, string name) where T : class, IModelTensor
    {
        // Indexed, not foreach: a repeated field's enumerator is allocated, and this runs for every request.
        for (var i = 0; i < tensors.Count; i++)
        {
            if (tensors[i].Name == name)
            {
                return tensors[i];
            }
        }
        return null;
    }

    private static Tensors.Tensor? FindInput(InferenceRequest request, string name)
    {
        foreach (var input in request.Inputs)
        {
            if (input.Name == name)
            {
                return input;
            }
        }
        return null;
    }

    private static string NameList(IReadOnlyList<IModelTensor> tensors) => string.Join(", ", tensors.Select(t => t.Name));

    private static InferenceException Fail(string message) => InferenceException.Invalid(message);
}
