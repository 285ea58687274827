using InferenceServer.Core.Inference;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Routing.Shadow;

/// <summary>
/// Copies that wait for the shadow together run as one request: their inputs stacked along the batch dimension, each
/// copy compared with its own rows of the answer where they lie. For a small model the run costs about the same for one
/// row as for dozens, so a shadow that keeps up with a busy route this way takes a fraction of the CPU its copies would
/// take one by one, and the primary, which shares the machine, keeps its latency.
/// </summary>
internal static class ShadowBatch
{
    /// <summary>
    /// The rows of <paramref name="request"/>: the first dimension its inputs share; 0 when they do not share one (no
    /// inputs, a scalar, or different first dimensions), which means the copy runs alone.
    /// </summary>
    public static int Rows(InferenceRequest request)
    {
        var inputs = request.Inputs;
        if (inputs.Count == 0 || inputs[0].Shape.Length == 0)
        {
            return 0;
        }
        var rows = inputs[0].Shape[0];
        foreach (var input in inputs)
        {
            if (input.Shape.Length == 0 || input.Shape[0] != rows)
            {
                return 0;
            }
        }
        return rows is > 0 and <= int.MaxValue ? (int)rows : 0;
    }

    /// <summary>
    /// True when <paramref name="next"/> can be stacked under <paramref name="first"/>: the same inputs in the same
    /// order, of the same datatypes and the same dimensions after the first, asking for the same outputs.
    /// </summary>
    public static bool Fits(InferenceRequest first, InferenceRequest next)
    {
        // Asked of every copy that joins a run: loops, not LINQ's SequenceEqual, whose enumerators it would allocate each time.
        var firstOutputs = first.RequestedOutputs;
        var nextOutputs = next.RequestedOutputs;
        if (first.Inputs.Count != next.Inputs.Count || firstOutputs.Count != nextOutputs.Count)
        {
            return false;
        }
        for (var i = 0; i < firstOutputs.Count; i++)
        {
            if (!string.Equals(firstOutputs[i], nextOutputs[i], StringComparison.Ordinal))
            {
                return false;
            }
        }
        for (var i = 0; i < first.Inputs.Count; i++)
        {
            var a = first.Inputs[i];
            var b = next.Inputs[i];
            if (!string.Equals(a.Name, b.Name, StringComparison.Ordinal) || a.DataType != b.DataType || !a.Shape.AsSpan(1).SequenceEqual(b.Shape.AsSpan(1)))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// One request holding the inputs of every copy in <paramref name="copies"/>, stacked in order (<paramref name="rows"/>
    /// rows in all). It carries none of the copies' parameters: the server acts on none of them in a shadow's run (the
    /// copy runs at the shadow model's own priority and timeout, and is forced to the shadow variant rather than routed
    /// by a key), and copies that differ only in them still run together.
    /// </summary>
    public static InferenceRequest Merge(IReadOnlyList<ShadowCopy> copies, int rows)
    {
        var first = copies[0].Request;
        var merged = new InferenceRequest { ModelName = first.ModelName };
        try
        {
            for (var i = 0; i < first.Inputs.Count; i++)
            {
                var template = first.Inputs[i];
                var byteLength = 0;
                foreach (var copy in copies)
                {
                    byteLength = checked(byteLength + copy.Request.Inputs[i].ByteLength);
                }
                var shape = (long[])template.Shape.Clone();
                shape[0] = rows;
                var stacked = Tensor.Allocate(template.Name, template.DataType, shape, byteLength);
                merged.Inputs.Add(stacked);
                // Row-major with the batch first, fixed-size or length-prefixed BYTES alike: stacking is appending.
                var offset = 0;
                foreach (var copy in copies)
                {
                    var data = copy.Request.Inputs[i].Data;
                    data.CopyTo(stacked.Data[offset..]);
                    offset += data.Length;
                }
            }
        }
        catch
        {
            merged.Dispose();
            throw;
        }
        merged.RequestedOutputs.AddRange(first.RequestedOutputs);
        return merged;
    }

    /// <summary>
    /// Where each copy's rows lie in one output of a batched answer, which is compared in place rather than cut into
    /// copies: copy c, of <paramref name="rows"/>[c] rows in the order the copies were stacked, holds the bytes from
    /// <paramref name="bounds"/>[c] to <paramref name="bounds"/>[c + 1] (<paramref name="bounds"/> has one more entry than
    /// <paramref name="rows"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">An output whose first dimension is not the rows sent, or whose BYTES cannot be read.</exception>
    public static void SliceBounds(Tensor output, IReadOnlyList<int> rows, Span<int> bounds)
    {
        var total = 0L;
        foreach (var count in rows)
        {
            total += count;
        }
        if (output.Shape.Length == 0 || output.Shape[0] != total)
        {
            throw new InvalidOperationException(
                $"the shadow's batched answer cannot be cut per request: output '{output.Name}' has shape [{string.Join(", ", output.Shape)}], not {total} rows first");
        }
        var perRow = total == 0 ? 0 : ShapeMath.ElementCount(output.Shape) / total;
        ReadOnlySpan<byte> data = output.Data;
        var offset = 0;
        bounds[0] = 0;
        for (var c = 0; c < rows.Count; c++)
        {
            offset += SliceLength(output, data[offset..], rows[c] * perRow);
            if (offset > data.Length)
            {
                throw new InvalidOperationException(
                    $"the shadow's batched answer cannot be cut per request: output '{output.Name}' holds fewer bytes than its shape [{string.Join(", ", output.Shape)}] needs");
            }
            bounds[c + 1] = offset;
        }
    }

    // The bytes that hold the next `elements` elements of the output, from the start of `data`.
    private static int SliceLength(Tensor output, ReadOnlySpan<byte> data, long elements)
    {
        var size = output.DataType.ElementSize();
        if (size > 0)
        {
            return checked((int)(elements * size));
        }
        // BYTES: each element is a 4-byte little-endian length and that many bytes.
        var length = 0;
        for (var e = 0L; e < elements; e++)
        {
            if (data.Length - length < sizeof(uint))
            {
                throw new InvalidOperationException($"the shadow's batched answer cannot be cut per request: output '{output.Name}' ends inside an element");
            }
            var elementLength = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(data[length..]);
            if (elementLength > (uint)(data.Length - length - sizeof(uint)))
            {
                throw new InvalidOperationException($"the shadow's batched answer cannot be cut per request: output '{output.Name}' has an element longer than its data");
            }
            length += sizeof(uint) + (int)elementLength;
        }
        return length;
    }
}
