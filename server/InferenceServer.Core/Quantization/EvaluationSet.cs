using System.Globalization;
using InferenceServer.Core.Models;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Scoring;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Quantization;

/// <summary>
/// The rows the accuracy gate runs parent and variant on, already in batches of the model's input tensors (one per
/// input, by name), with one label per row when the source gives them. It owns its tensors.
/// </summary>
public sealed class EvaluationSet : IDisposable
{
    /// <summary>The rows read from a file at most; the gate needs a sample, not the whole training set.</summary>
    public const int DefaultMaxRows = 10_000;

    private readonly List<Tensor[]> _batches;

    private EvaluationSet(List<Tensor[]> batches, bool[]? labels, string source)
    {
        _batches = batches;
        Labels = labels;
        Source = source;
        foreach (var batch in batches)
        {
            Rows += RowsOf(batch);
        }
    }

    /// <summary>The batches, each one tensor per model input.</summary>
    public IReadOnlyList<Tensor[]> Batches => _batches;

    /// <summary>One label per row across the batches in order (true: positive); null when the source gives none.</summary>
    public bool[]? Labels { get; }

    /// <summary>Where the rows came from, for the report.</summary>
    public string Source { get; }

    /// <summary>The number of rows: the first dimension of each batch's first input, summed.</summary>
    public long Rows { get; }

    /// <summary>The batches as sample requests, for a quantizer's calibration.</summary>
    public IReadOnlyList<IReadOnlyList<Tensor>> AsRequests() => [.. _batches];

    /// <summary>Rows of each batch: its first input's first dimension (1 for a scalar).</summary>
    internal static long RowsOf(Tensor[] batch) => batch.Length == 0 || batch[0].Shape.Length == 0 ? 1 : batch[0].Shape[0];

    /// <summary>A set of copies of <paramref name="batches"/> (the caller keeps its tensors), without labels.</summary>
    public static EvaluationSet FromBatches(IEnumerable<IReadOnlyList<Tensor>> batches, string source)
    {
        var copies = new List<Tensor[]>();
        foreach (var batch in batches)
        {
            copies.Add([.. batch.Select(t => Tensor.Copy(t.Name, t.DataType, t.Shape, t.Data))]);
        }
        return new EvaluationSet(copies, null, source);
    }

    /// <summary>The inputs of the config's <c>model_warmup</c> samples (each sample one batch); empty when it has none.</summary>
    internal static EvaluationSet FromWarmup(ModelConfig completed, WarmupSources sources)
    {
        using var warmup = WarmupRequests.Prepare(completed, sources);
        return FromBatches(warmup.Inputs, $"the model's warm-up samples ({completed.ModelWarmup.Count})");
    }

    /// <summary>
    /// Reads up to <paramref name="maxRows"/> rows of a CSV or JSONL (or Parquet) file with score's readers, each model input
    /// from the column of its name (a list of numbers for an input of several values), and the label of each row from
    /// <paramref name="labelColumn"/> when given (a number, non-zero positive, or true/false). Throws
    /// <see cref="QuantizationException"/> naming the file, the row and what is wrong with it.
    /// </summary>
    public static async Task<EvaluationSet> ReadFileAsync(string path, ModelConfig completed, string? labelColumn, int maxRows = DefaultMaxRows,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(completed);
        var display = Path.GetFileName(path);
        TensorEncoder encoder;
        try
        {
            encoder = new TensorEncoder(completed);
        }
        catch (ScoreException e)
        {
            throw new QuantizationException($"cannot read evaluation rows for model '{completed.Name}': {e.Message}", e);
        }
        var columns = new List<string>(encoder.Columns);
        var labelAt = -1;
        if (labelColumn is not null)
        {
            labelAt = columns.Count;
            columns.Add(labelColumn);
        }
        var batchRows = completed.MaxBatchSize > 0 ? Math.Min(completed.MaxBatchSize, 64) : 64;
        var batches = new List<Tensor[]>();
        var labels = new List<bool>();
        long rows = 0;
        try
        {
            var splits = await InputSplits.PlanAsync([path], InputSplits.DefaultSplitBytes, cancellationToken).ConfigureAwait(false);
            using var batch = new RecordBatch(columns);
            foreach (var split in splits)
            {
                await using var reader = await RecordReader.OpenAsync(split, columns, cancellationToken).ConfigureAwait(false);
                if (labelColumn is not null && !reader.FileColumns.Contains(labelColumn))
                {
                    throw new QuantizationException($"evaluation file '{display}' has no label column '{labelColumn}'; its columns are {string.Join(", ", reader.FileColumns)}");
                }
                while (rows < maxRows && await reader.ReadAsync(batch, (int)Math.Min(batchRows, maxRows - rows), cancellationToken).ConfigureAwait(false))
                {
                    var bad = new Dictionary<int, string>();
                    foreach (var (row, reason) in batch.Problems)
                    {
                        bad[row] = reason;
                    }
                    var good = new List<int>();
                    var tensors = encoder.Encode(batch, good, bad, DateTimeOffset.UtcNow);
                    if (bad.Count > 0)
                    {
                        foreach (var tensor in tensors)
                        {
                            tensor.Dispose();
                        }
                        var (first, why) = bad.MinBy(b => b.Key);
                        throw new QuantizationException($"evaluation file '{display}' row {batch.RowNumber(first) + InputSplits.RowsBefore(split)}: {why}");
                    }
                    batches.Add(tensors);
                    rows += good.Count;
                    if (labelAt >= 0)
                    {
                        foreach (var row in good)
                        {
                            labels.Add(Label(batch, labelAt, row, labelColumn!, display, split));
                        }
                    }
                }
            }
        }
        catch (ScoreException e)
        {
            Release(batches);
            throw new QuantizationException($"cannot read evaluation file '{display}': {e.Message}", e);
        }
        catch
        {
            Release(batches);
            throw;
        }
        if (rows == 0)
        {
            throw new QuantizationException($"evaluation file '{display}' holds no rows");
        }
        return new EvaluationSet(batches, labelAt >= 0 ? [.. labels] : null,
            string.Create(CultureInfo.InvariantCulture, $"{display} ({rows} rows{(labelColumn is null ? "" : $", labels from '{labelColumn}'")})"));
    }

    private static bool Label(RecordBatch batch, int column, int row, string labelColumn, string display, InputSplit split)
    {
        if (batch.Cells.TryGetNumber(column, row, out var number))
        {
            return number != 0;
        }
        if (batch.Cells.TryGetText(column, row, out var text))
        {
            var trimmed = text.Trim();
            if (trimmed.Equals("true", StringComparison.OrdinalIgnoreCase) || trimmed.SequenceEqual("1"))
            {
                return true;
            }
            if (trimmed.Equals("false", StringComparison.OrdinalIgnoreCase) || trimmed.SequenceEqual("0"))
            {
                return false;
            }
            if (double.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture, out number))
            {
                return number != 0;
            }
        }
        throw new QuantizationException(
            $"evaluation file '{display}' row {batch.RowNumber(row) + InputSplits.RowsBefore(split)}: label column '{labelColumn}' holds '{batch.Cells.CellText(column, row)}'; expected 0/1 or true/false");
    }

    private static void Release(List<Tensor[]> batches)
    {
        foreach (var batch in batches)
        {
            foreach (var tensor in batch)
            {
                tensor.Dispose();
            }
        }
        batches.Clear();
    }

    /// <inheritdoc />
    public void Dispose() => Release(_batches);
}
