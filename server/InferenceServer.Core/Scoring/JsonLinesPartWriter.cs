using System.Buffers;
using System.Text.Json;

namespace InferenceServer.Core.Scoring;

/// <summary>A JSONL part: one object per scored row, keys as strings, predictions as numbers.</summary>
internal sealed class JsonLinesPartWriter : PartWriter
{
    private readonly Stream _stream;
    private readonly OutputSchema _schema;
    private readonly ArrayBufferWriter<byte> _buffer = new(1 << 16);
    private readonly Utf8JsonWriter _json;
    private readonly JsonEncodedText[] _keyNames;
    private readonly JsonEncodedText[] _predictionNames;

    public JsonLinesPartWriter(Stream stream, OutputSchema schema)
    {
        _stream = stream;
        _schema = schema;
        _json = new Utf8JsonWriter(_buffer);
        _keyNames = [.. schema.Keys.Select(k => JsonEncodedText.Encode(k))];
        _predictionNames = [.. schema.Predictions.Select(p => JsonEncodedText.Encode(p.Name))];
    }

    public override async ValueTask WriteAsync(ScoredBatch batch, CancellationToken cancellationToken)
    {
        var predictions = _schema.Predictions;
        for (var row = 0; row < batch.Count; row++)
        {
            _json.Reset(_buffer);
            _json.WriteStartObject();
            for (var k = 0; k < _keyNames.Length; k++)
            {
                if (batch.Keys[k][row] is { } key)
                {
                    _json.WriteString(_keyNames[k], key);
                }
                else
                {
                    _json.WriteNull(_keyNames[k]);
                }
            }
            for (var p = 0; p < predictions.Count; p++)
            {
                var value = OutputSchema.Value(batch, predictions[p], row);
                if (predictions[p].Type == Tensors.DataType.Fp32)
                {
                    _json.WriteNumber(_predictionNames[p], (float)value);
                }
                else
                {
                    _json.WriteNumber(_predictionNames[p], value);
                }
            }
            if (_schema.Prediction is not null)
            {
                _json.WriteString(OutputSchema.LabelColumn, _schema.Label(batch, row));
            }
            _json.WriteString(OutputSchema.ModelColumn, _schema.Model);
            _json.WriteString(OutputSchema.VersionColumn, batch.ModelVersion);
            _json.WriteEndObject();
            _json.Flush();
            _buffer.Write("\n"u8);
        }
        await _stream.WriteAsync(_buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
        _buffer.ResetWrittenCount();
    }

    public override ValueTask CompleteAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public override ValueTask DisposeAsync()
    {
        _json.Dispose();
        return ValueTask.CompletedTask;
    }
}
