using System.Buffers.Binary;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Scheduling;

/// <summary>
/// Joins the inputs of several requests along the batch dimension and splits a batch's outputs
/// back. Every datatype's bytes concatenate in the v2 layout (BYTES elements carry their own
/// length prefixes), so joining is one copy per request per input.
/// </summary>
internal static class BatchAssembler
{
    /// <summary>The batch dimension of one request: its first input's first dimension.</summary>
    public static long BatchSize(SchedulerWork work) =>
        work.Inputs.Count > 0 && work.Inputs[0].Shape.Length > 0 ? work.Inputs[0].Shape[0] : 1;

    /// <summary>
    /// Whether <paramref name="other"/> may share a batch with <paramref name="head"/>: the same
    /// inputs in the same order with the same datatypes and non-batch dimensions, and the same outputs.
    /// </summary>
    public static bool CanJoin(SchedulerWork head, SchedulerWork other)
    {
        if (!ReferenceEquals(head.OutputNames, other.OutputNames))
        {
            if (head.OutputNames.Count != other.OutputNames.Count)
            {
                return false;
            }
            for (var i = 0; i < head.OutputNames.Count; i++)
            {
                if (!string.Equals(head.OutputNames[i], other.OutputNames[i], StringComparison.Ordinal))
                {
                    return false;
                }
            }
        }
        var a = head.Inputs;
        var b = other.Inputs;
        if (a.Count != b.Count || a.Count == 0)
        {
            return false;
        }
        for (var i = 0; i < a.Count; i++)
        {
            var x = a[i];
            var y = b[i];
            if (x.DataType != y.DataType || x.Shape.Length != y.Shape.Length || x.Shape.Length == 0
                || !string.Equals(x.Name, y.Name, StringComparison.Ordinal))
            {
                return false;
            }
            for (var d = 1; d < x.Shape.Length; d++)
            {
                if (x.Shape[d] != y.Shape[d])
                {
                    return false;
                }
            }
        }
        return true;
    }

    /// <summary>
    /// Writes into <paramref name="destination"/> one pooled tensor per input holding the
    /// <paramref name="count"/> requests' data back to back; the caller disposes them.
    /// </summary>
    public static void AssembleInputs(SchedulerWork[] works, int count, long totalBatch, Tensor[] destination)
    {
        var head = works[0].Inputs;
        var assembled = 0;
        try
        {
            for (var i = 0; i < head.Count; i++)
            {
                var first = head[i];
                long byteLength = 0;
                for (var k = 0; k < count; k++)
                {
                    byteLength += works[k].Inputs[i].ByteLength;
                }
                if (byteLength > Array.MaxLength)
                {
                    throw new InvalidOperationException($"batched input '{first.Name}' would need {byteLength} bytes, more than one buffer can hold");
                }
                var shape = (long[])first.Shape.Clone();
                shape[0] = totalBatch;
                var tensor = Tensor.Allocate(first.Name, first.DataType, shape, (int)byteLength);
                destination[i] = tensor;
                assembled++;
                var target = tensor.Data;
                var offset = 0;
                for (var k = 0; k < count; k++)
                {
                    var data = works[k].Inputs[i].Data;
                    data.CopyTo(target[offset..]);
                    offset += data.Length;
                }
            }
        }
        catch
        {
            DisposeAll(destination, assembled);
            throw;
        }
    }

    /// <summary>
    /// Splits each of <paramref name="outputs"/> along its first dimension into a new tensor per
    /// request, in batch order: <paramref name="results"/>[k] gets request k's outputs. Does not
    /// dispose <paramref name="outputs"/>. Throws <see cref="InvalidOperationException"/> when an
    /// output does not carry the batch dimension.
    /// </summary>
    public static void ScatterOutputs(Tensor[] outputs, SchedulerWork[] works, int count, long totalBatch, Tensor[]?[] results)
    {
        try
        {
            for (var k = 0; k < count; k++)
            {
                results[k] = new Tensor[outputs.Length];
            }
            for (var j = 0; j < outputs.Length; j++)
            {
                var output = outputs[j];
                if (output.Shape.Length == 0 || output.Shape[0] != totalBatch || totalBatch == 0)
                {
                    throw new InvalidOperationException(
                        $"output '{output.Name}' has shape {ShapeMath.Format(output.Shape)}, whose first dimension should be the batch size {totalBatch}");
                }
                if (output.DataType == DataType.Bytes)
                {
                    ScatterBytes(output, works, count, totalBatch, results, j);
                }
                else
                {
                    ScatterFixed(output, works, count, totalBatch, results, j);
                }
            }
        }
        catch
        {
            for (var k = 0; k < count; k++)
            {
                if (results[k] is { } partial)
                {
                    foreach (var tensor in partial)
                    {
                        tensor?.Dispose();
                    }
                    results[k] = null;
                }
            }
            throw;
        }
    }

    private static void ScatterFixed(Tensor output, SchedulerWork[] works, int count, long totalBatch, Tensor[]?[] results, int index)
    {
        var rowBytes = output.ByteLength / totalBatch;
        var data = output.Data;
        var offset = 0;
        for (var k = 0; k < count; k++)
        {
            var rows = BatchSize(works[k]);
            var length = (int)(rows * rowBytes);
            results[k]![index] = Tensor.Copy(output.Name, output.DataType, RowShape(output.Shape, rows), data.Slice(offset, length));
            offset += length;
        }
    }

    // BYTES elements vary in size: walk the length prefixes to find where each request's rows end.
    private static void ScatterBytes(Tensor output, SchedulerWork[] works, int count, long totalBatch, Tensor[]?[] results, int index)
    {
        var elementsPerRow = output.ElementCount / totalBatch;
        var data = output.Data;
        var offset = 0;
        for (var k = 0; k < count; k++)
        {
            var rows = BatchSize(works[k]);
            var start = offset;
            for (long e = rows * elementsPerRow; e > 0; e--)
            {
                if (data.Length - offset < BytesTensorLayout.PrefixSize)
                {
                    throw new InvalidOperationException($"BYTES output '{output.Name}' ends inside an element's length prefix");
                }
                var length = BinaryPrimitives.ReadUInt32LittleEndian(data[offset..]);
                offset += BytesTensorLayout.PrefixSize;
                if (length > (uint)(data.Length - offset))
                {
                    throw new InvalidOperationException($"BYTES output '{output.Name}' has an element longer than the data left");
                }
                offset += (int)length;
            }
            results[k]![index] = Tensor.Copy(output.Name, output.DataType, RowShape(output.Shape, rows), data[start..offset]);
        }
    }

    private static long[] RowShape(long[] batchShape, long rows)
    {
        var shape = (long[])batchShape.Clone();
        shape[0] = rows;
        return shape;
    }

    public static void DisposeAll(Tensor[] tensors, int count)
    {
        for (var i = 0; i < count; i++)
        {
            tensors[i]?.Dispose();
            tensors[i] = null!;
        }
    }
}
