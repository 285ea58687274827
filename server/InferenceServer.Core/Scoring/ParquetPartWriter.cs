using Parquet;
using Parquet.Schema;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Scoring;

/// <summary>
/// A Parquet part written with Parquet.Net: keys, label, model and version as strings, predictions typed as the model
/// answers them (FP32 float, FP64 double, integers as int or long). Rows are buffered into row groups of
/// <see cref="RowGroupRows"/>, sized from the writer's share of the memory limit (<see cref="RowsFor"/>), so a split's
/// part is a few large row groups, not one per request, and what the writer holds is bounded by the flag. Parquet.Net
/// runs on <see cref="ParquetThread.Encode"/>, so its pooled buffers are one set, not one per pool thread.
/// </summary>
internal sealed class ParquetPartWriter : PartWriter
{
    /// <summary>Rows per row group at most: large enough for a reader to scan fast, whatever the memory limit.</summary>
    public const int MaxRowGroupRows = 65536;

    /// <summary>Rows per row group at least, however small the memory limit: below it the per-group metadata dominates.</summary>
    public const int MinRowGroupRows = 1024;

    private readonly Stream _stream;
    private readonly OutputSchema _schema;
    private readonly ParquetSchema _parquetSchema;
    private readonly ParquetOptions _writerOptions;
    private readonly DataField[] _fields;
    private readonly string?[][] _keys;
    private readonly Array[] _predictions;
    private readonly string[]? _labels;
    private readonly string[] _versions;
    private readonly string[] _models;
    private ParquetWriter? _writer;
    private int _buffered;

    /// <summary>The rows of each row group this writer writes (the last may have fewer).</summary>
    public int RowGroupRows { get; }

    /// <summary>
    /// The rows of a row group whose buffers fit in <paramref name="writerBytes"/>: a power of two between
    /// <see cref="MinRowGroupRows"/> and <see cref="MaxRowGroupRows"/>. A row costs the writer its references and key
    /// strings while buffered, and while a row group is encoded, one text column at a time: Parquet.Net's copies of it
    /// (its memory references, the UTF-8 page, the compressed page; about 140 bytes a row for 32-character text), which
    /// its pool then keeps for the next row group. Half the share is for the buffered rows, half for those copies.
    /// </summary>
    public static int RowsFor(OutputSchema schema, long writerBytes)
    {
        var columns = schema.Keys.Count + schema.Predictions.Count + (schema.Prediction is null ? 0 : 1) + 2;
        var rowBytes = columns * 16L + schema.Keys.Count * 64L + 160;
        var rows = writerBytes / (2 * rowBytes);
        if (rows >= MaxRowGroupRows)
        {
            return MaxRowGroupRows;
        }
        return rows <= MinRowGroupRows ? MinRowGroupRows : 1 << System.Numerics.BitOperations.Log2((ulong)rows);
    }

    /// <summary>A writer over <paramref name="stream"/> of row groups whose buffers fit in <paramref name="writerBytes"/>.</summary>
    public ParquetPartWriter(Stream stream, OutputSchema schema, long writerBytes)
    {
        _stream = stream;
        _schema = schema;
        var rowGroupRows = RowsFor(schema, writerBytes);
        RowGroupRows = rowGroupRows;
        _versions = new string[rowGroupRows];
        _models = new string[rowGroupRows];
        // Every text column is written plain: Parquet.Net 6.1 tries a dictionary only for a column hinted to take one,
        // and its dictionary builder (a hash of every value into a table sized for the whole row group) cost more CPU
        // than plain for the label, model and version columns, measured alternating (2.00 against 2.04 and 1.95 against
        // 2.01 CPU-s per 1M rows). The sample bounds that builder should a column be hinted. Its page streams come from
        // one pool for the process, which keeps up to 16 + 64 MB of free buffers unless told less: the writer's share
        // (never 0, which that pool takes as no bound).
        _writerOptions = new ParquetOptions
        {
            DictionaryEncodingSampleSize = 1024,
            MaximumSmallPoolFreeBytes = (int)Math.Clamp(writerBytes / 8, 1, int.MaxValue),
            MaximumLargePoolFreeBytes = (int)Math.Clamp(writerBytes / 4, 1, int.MaxValue),
        };
        var fields = new List<DataField>();
        _keys = new string?[schema.Keys.Count][];
        for (var k = 0; k < schema.Keys.Count; k++)
        {
            fields.Add(new DataField<string>(schema.Keys[k], true));
            _keys[k] = new string?[rowGroupRows];
        }
        _predictions = new Array[schema.Predictions.Count];
        for (var p = 0; p < schema.Predictions.Count; p++)
        {
            var column = schema.Predictions[p];
            (fields, _predictions[p]) = Kind(column.Type) switch
            {
                ValueKind.Float => (Add(fields, new DataField<float>(column.Name)), new float[rowGroupRows]),
                ValueKind.Int => (Add(fields, new DataField<int>(column.Name)), new int[rowGroupRows]),
                ValueKind.Long => (Add(fields, new DataField<long>(column.Name)), new long[rowGroupRows]),
                _ => (Add(fields, new DataField<double>(column.Name)), (Array)new double[rowGroupRows]),
            };
        }
        if (schema.Prediction is not null)
        {
            fields.Add(new DataField<string>(OutputSchema.LabelColumn));
            _labels = new string[rowGroupRows];
        }
        fields.Add(new DataField<string>(OutputSchema.ModelColumn));
        fields.Add(new DataField<string>(OutputSchema.VersionColumn));
        _fields = [.. fields];
        _parquetSchema = new ParquetSchema(_fields);
        Array.Fill(_models, schema.Model);
    }

    private enum ValueKind
    {
        Float,
        Double,
        Int,
        Long,
    }

    private static List<DataField> Add(List<DataField> fields, DataField field)
    {
        fields.Add(field);
        return fields;
    }

    private static ValueKind Kind(DataType type) => type switch
    {
        DataType.Fp32 or DataType.Fp16 => ValueKind.Float,
        DataType.Int8 or DataType.UInt8 or DataType.Int16 or DataType.UInt16 or DataType.Int32 or DataType.Bool => ValueKind.Int,
        DataType.UInt32 or DataType.Int64 => ValueKind.Long,
        _ => ValueKind.Double,
    };

    public override async ValueTask WriteAsync(ScoredBatch batch, CancellationToken cancellationToken)
    {
        var row = 0;
        while (row < batch.Count)
        {
            var take = Math.Min(batch.Count - row, RowGroupRows - _buffered);
            Buffer(batch, row, take);
            row += take;
            _buffered += take;
            if (_buffered == RowGroupRows)
            {
                await FlushRowGroupAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private void Buffer(ScoredBatch batch, int from, int count)
    {
        for (var k = 0; k < _keys.Length; k++)
        {
            Array.Copy(batch.Keys[k], from, _keys[k], _buffered, count);
        }
        for (var p = 0; p < _predictions.Length; p++)
        {
            var column = _schema.Predictions[p];
            var data = batch.Outputs[column.Output].Data;
            switch (_predictions[p])
            {
                case float[] floats when column.Type == DataType.Fp32:
                {
                    // The common case read straight from the output's bytes.
                    var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(data);
                    for (var i = 0; i < count; i++)
                    {
                        floats[_buffered + i] = values[(from + i) * column.Width + column.Element];
                    }
                    break;
                }
                case float[] floats:
                    for (var i = 0; i < count; i++)
                    {
                        floats[_buffered + i] = (float)OutputSchema.Value(batch, column, from + i);
                    }
                    break;
                case int[] ints:
                    for (var i = 0; i < count; i++)
                    {
                        ints[_buffered + i] = (int)OutputSchema.Value(batch, column, from + i);
                    }
                    break;
                case long[] longs:
                    for (var i = 0; i < count; i++)
                    {
                        longs[_buffered + i] = (long)OutputSchema.Value(batch, column, from + i);
                    }
                    break;
                case double[] doubles:
                    for (var i = 0; i < count; i++)
                    {
                        doubles[_buffered + i] = OutputSchema.Value(batch, column, from + i);
                    }
                    break;
            }
        }
        if (_labels is not null)
        {
            for (var i = 0; i < count; i++)
            {
                _labels[_buffered + i] = _schema.Label(batch, from + i);
            }
        }
        Array.Fill(_versions, batch.ModelVersion, _buffered, count);
    }

    private Task FlushRowGroupAsync(CancellationToken cancellationToken) => ParquetThread.Encode.RunAsync(() => EncodeRowGroupAsync(cancellationToken));

    private async Task EncodeRowGroupAsync(CancellationToken cancellationToken)
    {
        _writer ??= await ParquetWriter.CreateAsync(_parquetSchema, _stream, _writerOptions, cancellationToken: cancellationToken).ConfigureAwait(false);
        var rows = _buffered;
        using (var group = _writer.CreateRowGroup())
        {
            var f = 0;
            foreach (var keys in _keys)
            {
                await group.WriteAsync(_fields[f++], new ArraySegment<string?>(keys, 0, rows)!).ConfigureAwait(false);
            }
            foreach (var values in _predictions)
            {
                var field = _fields[f++];
                switch (values)
                {
                    case float[] floats:
                        await group.WriteAsync<float>(field, floats.AsMemory(0, rows), cancellationToken: cancellationToken).ConfigureAwait(false);
                        break;
                    case int[] ints:
                        await group.WriteAsync<int>(field, ints.AsMemory(0, rows), cancellationToken: cancellationToken).ConfigureAwait(false);
                        break;
                    case long[] longs:
                        await group.WriteAsync<long>(field, longs.AsMemory(0, rows), cancellationToken: cancellationToken).ConfigureAwait(false);
                        break;
                    case double[] doubles:
                        await group.WriteAsync<double>(field, doubles.AsMemory(0, rows), cancellationToken: cancellationToken).ConfigureAwait(false);
                        break;
                }
            }
            if (_labels is not null)
            {
                await group.WriteAsync(_fields[f++], new ArraySegment<string>(_labels, 0, rows)).ConfigureAwait(false);
            }
            await group.WriteAsync(_fields[f++], new ArraySegment<string>(_models, 0, rows)).ConfigureAwait(false);
            await group.WriteAsync(_fields[f], new ArraySegment<string>(_versions, 0, rows)).ConfigureAwait(false);
        }
        _buffered = 0;
    }

    public override async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        if (_buffered > 0 || _writer is null)
        {
            // A split without rows still gets a valid (empty) file, so every committed split has its part.
            await FlushRowGroupAsync(cancellationToken).ConfigureAwait(false);
        }
        await ParquetThread.Encode.RunAsync(() => _writer!.DisposeAsync().AsTask()).ConfigureAwait(false);
    }
}
