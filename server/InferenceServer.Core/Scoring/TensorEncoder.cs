using System.Buffers.Binary;
using System.Globalization;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Tensors;
using DataType = InferenceServer.Core.Tensors.DataType;

namespace InferenceServer.Core.Scoring;

/// <summary>
/// Encodes rows for a model without a feature view: each model input is the column of the same name. An input of one
/// value per row takes a number (or a number as text); an input of several takes a list of that many numbers, as a
/// JSON array or separated by commas, semicolons or spaces. Numbers are parsed invariantly.
/// </summary>
internal sealed class TensorEncoder : BatchEncoder
{
    private readonly string[] _columns;
    private readonly DataType[] _types;
    private readonly long[][] _dims;
    private readonly int[] _widths;
    private readonly int _maxWidth;

    public TensorEncoder(ModelConfig config)
    {
        var inputs = config.Input;
        _columns = new string[inputs.Count];
        _types = new DataType[inputs.Count];
        _dims = new long[inputs.Count][];
        _widths = new int[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            var input = inputs[i];
            _columns[i] = input.Name;
            _types[i] = input.DataType.ToTensorType();
            var dims = input.Dims.ToArray();
            if (config.MaxBatchSize == 0)
            {
                // Without batching the first dimension is the batch, written -1.
                if (dims.Length == 0 || dims[0] != -1)
                {
                    throw new ScoreException($"model '{config.Name}' has max_batch_size 0 and input '{input.Name}' has dims [{string.Join(", ", dims)}]: batch scoring needs a batch dimension (max_batch_size > 0, or a first dimension of -1)");
                }
                dims = dims[1..];
            }
            foreach (var dim in dims)
            {
                if (dim < 0)
                {
                    throw new ScoreException($"model '{config.Name}' input '{input.Name}' has a variable dimension (dims [{string.Join(", ", input.Dims)}]): batch scoring needs fixed input shapes, or a feature view");
                }
            }
            if (_types[i] is DataType.Bytes or DataType.Bf16 or DataType.Invalid)
            {
                throw new ScoreException($"model '{config.Name}' input '{input.Name}' is {input.DataType}: batch scoring fills numeric and boolean inputs, or goes through a feature view");
            }
            _dims[i] = dims;
            _widths[i] = (int)ShapeMath.ElementCount(dims);
            _maxWidth = Math.Max(_maxWidth, _widths[i]);
        }
    }

    public override IReadOnlyList<string> Columns => _columns;

    public override Tensor[] Encode(RecordBatch batch, List<int> good, Dictionary<int, string> bad, DateTimeOffset now)
    {
        var tensors = new Tensor[_columns.Length];
        var made = 0;
        // Encoders run on several batches at once: the scratch is the call's own.
        var scratch = System.Buffers.ArrayPool<double>.Shared.Rent(Math.Max(1, _maxWidth));
        try
        {
            for (; made < _columns.Length; made++)
            {
                var size = _types[made].ElementSize();
                tensors[made] = Tensor.Allocate(_columns[made], _types[made], [batch.Count, .. _dims[made]], checked(batch.Count * _widths[made] * size));
            }
            // Each row is parsed into every input first, so a bad value anywhere leaves the row out of all of them.
            var written = 0;
            for (var row = 0; row < batch.Count; row++)
            {
                if (bad.ContainsKey(row))
                {
                    continue;
                }
                string? problem = null;
                for (var c = 0; c < _columns.Length && problem is null; c++)
                {
                    problem = Parse(batch, c, row, tensors[c], written, scratch);
                }
                if (problem is null)
                {
                    good.Add(row);
                    written++;
                }
                else
                {
                    bad[row] = problem;
                }
            }
            if (written == batch.Count)
            {
                return tensors;
            }
            var trimmed = new Tensor[tensors.Length];
            for (var c = 0; c < tensors.Length; c++)
            {
                var bytes = written * _widths[c] * _types[c].ElementSize();
                trimmed[c] = Tensor.Copy(_columns[c], _types[c], [written, .. _dims[c]], tensors[c].Data[..bytes]);
            }
            Dispose(tensors, tensors.Length);
            return written == 0 ? DisposeAll(trimmed) : trimmed;
        }
        catch
        {
            Dispose(tensors, made);
            throw;
        }
        finally
        {
            System.Buffers.ArrayPool<double>.Shared.Return(scratch);
        }
    }

    private static Tensor[] DisposeAll(Tensor[] tensors)
    {
        Dispose(tensors, tensors.Length);
        return [];
    }

    private static void Dispose(Tensor[] tensors, int count)
    {
        for (var i = 0; i < count && i < tensors.Length; i++)
        {
            tensors[i]?.Dispose();
        }
    }

    // Writes the cell's values into the tensor's row at; returns why it cannot, or null.
    private string? Parse(RecordBatch batch, int c, int row, Tensor tensor, int at, double[] scratch)
    {
        var width = _widths[c];
        var values = scratch.AsSpan(0, width);
        if (batch.Cells.TryGetNumber(c, row, out var number))
        {
            if (width != 1)
            {
                return $"field '{_columns[c]}': one number given; input '{_columns[c]}' takes {width} values per row";
            }
            values[0] = number;
        }
        else if (batch.Cells.TryGetText(c, row, out var text))
        {
            if (ParseList(text, values) is { } problem)
            {
                return $"field '{_columns[c]}': {problem}";
            }
        }
        else
        {
            return $"field '{_columns[c]}': missing; the model's input '{_columns[c]}' needs it";
        }
        var data = tensor.Data;
        var type = _types[c];
        var size = type.ElementSize();
        var offset = at * width * size;
        for (var i = 0; i < width; i++)
        {
            if (Write(data[(offset + i * size)..], type, values[i]) is { } range)
            {
                return $"field '{_columns[c]}': {values[i].ToString("R", CultureInfo.InvariantCulture)} is outside {range}";
            }
        }
        return null;
    }

    private static string? ParseList(ReadOnlySpan<char> text, Span<double> values)
    {
        var body = text.Trim();
        if (body.Length >= 2 && body[0] == '[' && body[^1] == ']')
        {
            body = body[1..^1];
        }
        var count = 0;
        while (true)
        {
            body = body.TrimStart(" \t,;");
            if (body.IsEmpty)
            {
                break;
            }
            var end = body.IndexOfAny(" \t,;");
            var token = end < 0 ? body : body[..end];
            body = end < 0 ? [] : body[end..];
            if (count == values.Length)
            {
                return $"more than the {values.Length} values the input takes";
            }
            if (!double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out values[count]))
            {
                return $"'{Quote(token)}' is not a number";
            }
            count++;
        }
        return count == values.Length ? null : $"{count} values given; the input takes {values.Length}";
    }

    private static string Quote(ReadOnlySpan<char> text) => text.Length > 64 ? string.Concat(text[..64], "...") : text.ToString();

    // Writes one value; returns the type's range when the value does not fit it.
    private static string? Write(Span<byte> data, DataType type, double value)
    {
        switch (type)
        {
            case DataType.Fp32:
                BinaryPrimitives.WriteSingleLittleEndian(data, (float)value);
                return null;
            case DataType.Fp64:
                BinaryPrimitives.WriteDoubleLittleEndian(data, value);
                return null;
            case DataType.Fp16:
                BinaryPrimitives.WriteHalfLittleEndian(data, (Half)value);
                return null;
            case DataType.Bool:
                if (value is not (0 or 1))
                {
                    return "a boolean's 0 or 1";
                }
                data[0] = (byte)value;
                return null;
        }
        if (double.IsNaN(value) || value != Math.Round(value))
        {
            return $"{type.ProtocolName()}: a whole number is needed";
        }
        switch (type)
        {
            case DataType.Int8 when value is >= sbyte.MinValue and <= sbyte.MaxValue:
                data[0] = (byte)(sbyte)value;
                return null;
            case DataType.UInt8 when value is >= 0 and <= byte.MaxValue:
                data[0] = (byte)value;
                return null;
            case DataType.Int16 when value is >= short.MinValue and <= short.MaxValue:
                BinaryPrimitives.WriteInt16LittleEndian(data, (short)value);
                return null;
            case DataType.UInt16 when value is >= 0 and <= ushort.MaxValue:
                BinaryPrimitives.WriteUInt16LittleEndian(data, (ushort)value);
                return null;
            case DataType.Int32 when value is >= int.MinValue and <= int.MaxValue:
                BinaryPrimitives.WriteInt32LittleEndian(data, (int)value);
                return null;
            case DataType.UInt32 when value is >= 0 and <= uint.MaxValue:
                BinaryPrimitives.WriteUInt32LittleEndian(data, (uint)value);
                return null;
            case DataType.Int64 when value is >= long.MinValue and < 9.2233720368547758E+18:
                BinaryPrimitives.WriteInt64LittleEndian(data, (long)value);
                return null;
            case DataType.UInt64 when value is >= 0 and < 1.8446744073709552E+19:
                BinaryPrimitives.WriteUInt64LittleEndian(data, (ulong)value);
                return null;
            default:
                return $"{type.ProtocolName()}'s range";
        }
    }
}
