using Parquet;
using Parquet.Schema;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Scoring;

/// <summary>
/// A Parquet part written with Parquet.Net: keys, label, model and version as strings, predictions typed as the model
/// answers them (FP32 float, FP64 double, integers as int or long). Rows are buffered into row groups of up to
/// <see cref="RowGroupRows"/>, so a split's part is a few large row groups, not one per request.
/// </summary>
internal sealed class ParquetPartWriter : PartWriter
{
    /// <summary>Rows per row group at most: large enough for a reader to scan fast, small enough to bound the buffers.</summary>
    public const int RowGroupRows = 65536;

    // Every text column is written plain: Parquet.Net 6.1 tries a dictionary only for a column hinted to take one, and
    // its dictionary builder (a hash of every value into a table sized for the whole row group) cost more CPU than
    // plain for the label, model and version columns, measured alternating (2.00 against 2.04 and 1.95 against 2.01
    // CPU-s per 1M rows). The sample bounds that builder should a column be hinted.
    private static readonly ParquetOptions WriterOptions = new() { DictionaryEncodingSampleSize = 1024 };

    private readonly Stream _stream;
    private readonly OutputSchema _schema;
    private readonly ParquetSchema _parquetSchema;
    private readonly DataField[] _fields;
    private readonly string?[][] _keys;
    private readonly Array[] _predictions;
    private readonly string[]? _labels;
    private readonly string[] _versions = new string[RowGroupRows];
    private readonly string[] _models = new string[RowGroupRows];
    private ParquetWriter? _writer;
    private int _buffered;

    public ParquetPartWriter(Stream stream, OutputSchema schema)
    {
        _stream = stream;
        _schema = schema;
        var fields = new List<DataField>();
        _keys = new string?[schema.Keys.Count][];
        for (var k = 0; k < schema.Keys.Count; k++)
        {
            fields.Add(new DataField<string>(schema.Keys[k], true));
            _keys[k] = new string?[RowGroupRows];
        }
        _predictions = new Array[schema.Predictions.Count];
        for (var p = 0; p < schema.Predictions.Count; p++)
        {
            var column = schema.Predictions[p];
            (fields, _predictions[p]) = Kind(column.Type) switch
            {
                ValueKind.Float => (Add(fields, new DataField<float>(column.Name)), new float[RowGroupRows]),
                ValueKind.Int => (Add(fields, new DataField<int>(column.Name)), new int[RowGroupRows]),
                ValueKind.Long => (Add(fields, new DataField<long>(column.Name)), new long[RowGroupRows]),
                _ => (Add(fields, new DataField<double>(column.Name)), (Array)new double[RowGroupRows]),
            };
        }
        if (schema.Prediction is not null)
        {
            fields.Add(new DataField<string>(OutputSchema.LabelColumn));
            _labels = new string[RowGroupRows];
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

    private async Task FlushRowGroupAsync(CancellationToken cancellationToken)
    {
        _writer ??= await ParquetWriter.CreateAsync(_parquetSchema, _stream, WriterOptions, cancellationToken: cancellationToken).ConfigureAwait(false);
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
        await _writer!.DisposeAsync().ConfigureAwait(false);
    }
}
