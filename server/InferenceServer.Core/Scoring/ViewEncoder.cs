using InferenceServer.Core.Features;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Scoring;

/// <summary>
/// Encodes raw records through a feature view: each read column is the view's request field of the same name, filled
/// into pooled <see cref="FeatureRows"/> and transformed by <see cref="FeatureView.Transform"/>, exactly as a predict
/// request's records are. A column read as codes into its distinct texts (Parquet) is handed over as codes, so the
/// view encodes each distinct value once per batch rather than looking every row's text up. A batch with a row the
/// view refuses is retried row by row to find every such row (the slow path, taken only by batches that have one),
/// then encoded without them.
/// </summary>
internal sealed class ViewEncoder : BatchEncoder
{
    private readonly FeatureView _view;
    private readonly string[] _columns;
    private readonly int[] _fields;

    public ViewEncoder(FeatureView view)
    {
        _view = view;
        var columns = new List<string>();
        var fields = new List<int>();
        foreach (var field in view.Fields)
        {
            if (field.FromRequest)
            {
                columns.Add(field.Name);
                fields.Add(field.Index);
            }
        }
        _columns = [.. columns];
        _fields = [.. fields];
    }

    public override IReadOnlyList<string> Columns => _columns;

    public override Tensor[] Encode(RecordBatch batch, List<int> good, Dictionary<int, string> bad, DateTimeOffset now)
    {
        var candidates = new List<int>(batch.Count);
        for (var row = 0; row < batch.Count; row++)
        {
            if (!bad.ContainsKey(row))
            {
                candidates.Add(row);
            }
        }
        if (candidates.Count == 0)
        {
            return [];
        }
        if (TryTransform(batch, candidates, now, out var tensors, out _))
        {
            good.AddRange(candidates);
            return tensors;
        }
        // Some row is refused: find every one, alone, then encode the rest together.
        var single = new List<int>(1) { 0 };
        foreach (var row in candidates)
        {
            single[0] = row;
            if (TryTransform(batch, single, now, out var one, out var problem))
            {
                Dispose(one);
                good.Add(row);
            }
            else
            {
                bad[row] = problem!;
            }
        }
        if (good.Count == 0)
        {
            return [];
        }
        if (!TryTransform(batch, good, now, out tensors, out var still))
        {
            // Every row encodes alone, so together they do too; anything else is a defect to report, not to hide.
            throw new InvalidOperationException($"feature view '{_view.Name}' refused a batch whose rows it takes one by one: {still}");
        }
        return tensors;
    }

    private bool TryTransform(RecordBatch batch, List<int> rows, DateTimeOffset now, out Tensor[] tensors, out string? problem)
    {
        using var features = _view.RentRows(rows.Count);
        for (var c = 0; c < _columns.Length; c++)
        {
            var field = _fields[c];
            for (var i = 0; i < rows.Count; i++)
            {
                features.Request.CopyCell(batch.Cells, c, rows[i], field, i);
            }
        }
        try
        {
            var transformed = _view.Transform(features, now);
            tensors = new Tensor[transformed.Count];
            for (var i = 0; i < tensors.Length; i++)
            {
                tensors[i] = transformed[i];
            }
            problem = null;
            return true;
        }
        catch (FeatureException e)
        {
            tensors = [];
            problem = $"field '{e.Field}': {e.Reason}";
            return false;
        }
    }

    private static void Dispose(Tensor[] tensors)
    {
        foreach (var tensor in tensors)
        {
            tensor.Dispose();
        }
    }
}
