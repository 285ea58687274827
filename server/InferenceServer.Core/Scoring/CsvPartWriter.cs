using System.Globalization;
using nietras.SeparatedValues;

namespace InferenceServer.Core.Scoring;

/// <summary>A CSV part written with Sep: a header row, numbers invariant and shortest round-trip, text escaped when it must be.</summary>
internal sealed class CsvPartWriter : PartWriter
{
    private readonly OutputSchema _schema;
    private readonly SepWriter _writer;
    private readonly int _predictionStart;
    private readonly int _label;
    private readonly int _model;
    private readonly int _version;

    public CsvPartWriter(Stream stream, OutputSchema schema)
    {
        _schema = schema;
        _writer = Sep.New(',').Writer(o => o with { Escape = true, CultureInfo = CultureInfo.InvariantCulture }).To(stream, leaveOpen: true);
        var names = schema.ColumnNames();
        foreach (var name in names)
        {
            _writer.Header.Add(name);
        }
        _predictionStart = schema.Keys.Count;
        _label = schema.Prediction is null ? -1 : _predictionStart + schema.Predictions.Count;
        _model = names.Count - 2;
        _version = names.Count - 1;
    }

    public override ValueTask WriteAsync(ScoredBatch batch, CancellationToken cancellationToken)
    {
        var predictions = _schema.Predictions;
        for (var row = 0; row < batch.Count; row++)
        {
            using var line = _writer.NewRow();
            for (var k = 0; k < batch.Keys.Length; k++)
            {
                line[k].Set(batch.Keys[k][row] ?? "");
            }
            for (var p = 0; p < predictions.Count; p++)
            {
                var column = predictions[p];
                var value = OutputSchema.Value(batch, column, row);
                if (column.Type == Tensors.DataType.Fp32)
                {
                    line[_predictionStart + p].Format((float)value);
                }
                else
                {
                    line[_predictionStart + p].Format(value);
                }
            }
            if (_label >= 0)
            {
                line[_label].Set(_schema.Label(batch, row));
            }
            line[_model].Set(_schema.Model);
            line[_version].Set(batch.ModelVersion);
        }
        return ValueTask.CompletedTask;
    }

    public override ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        _writer.Flush();
        return ValueTask.CompletedTask;
    }

    public override ValueTask DisposeAsync()
    {
        _writer.Dispose();
        return ValueTask.CompletedTask;
    }
}
