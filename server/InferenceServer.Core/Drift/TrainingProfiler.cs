using System.Globalization;
using InferenceServer.Core.Features;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Scoring;
using InferenceServer.Core.Serving;

namespace InferenceServer.Core.Drift;

/// <summary>
/// Builds a model's <see cref="TrainingProfile"/> from training files (Parquet, CSV or JSONL; a file, a folder or a glob),
/// read and encoded exactly as <c>score</c> reads and encodes them: through the model's feature view when it has one
/// (the profile then describes the view's request fields as the file gives them), else column by column into the input
/// tensors (the profile describes each input's columns). Every encoded batch runs through the model, and its outputs
/// make the prediction profile. Rows the reader or the view refuses are counted and left out of both.
/// </summary>
public static class TrainingProfiler
{
    /// <summary>The outcome: the profile, the rows left out, and the features no row gave a value for (not in the profile).</summary>
    public sealed record Result(TrainingProfile Profile, long BadRows, IReadOnlyList<string> Unprofiled);

    /// <summary>
    /// Profiles <paramref name="model"/> (its latest version, through <paramref name="frontDoor"/>, which has loaded it) on
    /// <paramref name="input"/>, <paramref name="batchSize"/> rows at a time (at most the model's max_batch_size).
    /// </summary>
    /// <exception cref="ScoreException">The model or the input cannot be used; the message says why.</exception>
    public static async Task<Result> BuildAsync(InferenceFrontDoor frontDoor, string model, string input, int batchSize, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(frontDoor);
        Routing.ModelTarget described;
        try
        {
            described = frontDoor.Describe(model, null, default);
        }
        catch (InferenceException e)
        {
            throw new ScoreException($"cannot profile model '{model}': {e.Message}");
        }
        var config = described.Config;
        var batched = config.MaxBatchSize > 0;
        var rows = batched ? (int)Math.Min(Math.Max(1, batchSize), config.MaxBatchSize) : 1;
        var view = frontDoor.FindFeatureView(model);
        BatchEncoder encoder = view is null ? new TensorEncoder(config) : new ViewEncoder(view);
        var builder = new ProfileBuilder(model, described.Version, view is null ? TrainingProfile.TensorLevel : TrainingProfile.ViewLevel);
        // The view's request fields, in the encoder's column order (the order a batch holds them in).
        var fields = view is null ? [] : Fields(view, encoder.Columns, builder);

        var files = ScoreInput.ResolveFiles(input);
        var splits = await InputSplits.PlanAsync(files, InputSplits.DefaultSplitBytes, cancellationToken).ConfigureAwait(false);
        if (splits.Count > 0)
        {
            await using var first = await RecordReader.OpenAsync(splits[0], encoder.Columns, cancellationToken).ConfigureAwait(false);
            if (!encoder.Columns.Any(first.FileColumns.Contains))
            {
                var what = view is null ? $"an input of model '{model}'" : $"a field of feature view '{view.Name}'";
                throw new ScoreException($"{splits[0].Path}: no column is {what} (expected {string.Join(", ", encoder.Columns)}; the file's columns are {string.Join(", ", first.FileColumns)})");
            }
        }
        using var batch = new RecordBatch(encoder.Columns);
        var good = new List<int>(rows);
        var bad = new Dictionary<int, string>();
        long badRows = 0;
        foreach (var split in splits)
        {
            await using var reader = await RecordReader.OpenAsync(split, encoder.Columns, cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(batch, rows, cancellationToken).ConfigureAwait(false))
            {
                good.Clear();
                bad.Clear();
                foreach (var (row, reason) in batch.Problems)
                {
                    bad[row] = reason;
                }
                var tensors = encoder.Encode(batch, good, bad, DateTimeOffset.UtcNow);
                badRows += bad.Count;
                if (good.Count == 0)
                {
                    continue;
                }
                using var request = new InferenceRequest { ModelName = model, ModelVersion = described.Version };
                request.Inputs.AddRange(tensors);
                if (view is null)
                {
                    builder.AddInputs(request.Inputs, batched);
                }
                else
                {
                    AddRaw(batch, good, fields);
                    builder.CountRows(good.Count);
                }
                using var response = await frontDoor.InferAsync(request, default, cancellationToken).ConfigureAwait(false);
                builder.AddOutputs(response.Outputs, batched);
            }
        }
        if (builder.Rows == 0 && badRows == 0)
        {
            throw new ScoreException($"'{input}' has no rows; a profile needs the training records");
        }
        var profile = builder.Build(Source(files));
        var unprofiled = new List<string>();
        profile.Features.RemoveAll(f =>
        {
            var empty = f.Count == 0;
            if (empty)
            {
                unprofiled.Add(f.Name);
            }
            return empty;
        });
        if (profile.Features.Count == 0 && profile.Predictions.Count == 0)
        {
            throw new ScoreException($"no row of '{input}' could be used ({badRows} refused); a profile needs the training records");
        }
        return new Result(profile, badRows, unprofiled);
    }

    private static (int Column, ProfileAccumulator Accumulator, bool Numeric)[] Fields(FeatureView view, IReadOnlyList<string> columns, ProfileBuilder builder)
    {
        var fields = new List<(int, ProfileAccumulator, bool)>();
        for (var c = 0; c < columns.Count; c++)
        {
            if (view.TryGetField(columns[c], out var index))
            {
                var numeric = view.Fields[index].Kind == FeatureKind.Number;
                fields.Add((c, builder.Feature(columns[c], numeric), numeric));
            }
        }
        return [.. fields];
    }

    // A file's cell is what a request would have sent: a number, a text, or nothing.
    private static void AddRaw(RecordBatch batch, List<int> good, (int Column, ProfileAccumulator Accumulator, bool Numeric)[] fields)
    {
        Span<char> formatted = stackalloc char[32];
        foreach (var (column, accumulator, numeric) in fields)
        {
            foreach (var row in good)
            {
                if (batch.Cells.TryGetNumber(column, row, out var number))
                {
                    if (numeric)
                    {
                        accumulator.Add(number);
                    }
                    else
                    {
                        number.TryFormat(formatted, out var written, "R", CultureInfo.InvariantCulture);
                        accumulator.Add(formatted[..written]);
                    }
                }
                else if (batch.Cells.TryGetText(column, row, out var text) && !(numeric && text.IsWhiteSpace()))
                {
                    accumulator.Add(text);
                }
                else
                {
                    accumulator.AddMissing();
                }
            }
        }
    }

    private static string Source(IReadOnlyList<string> files) =>
        files.Count == 1 ? Path.GetFileName(files[0]) : string.Create(CultureInfo.InvariantCulture, $"{files.Count} files: {Path.GetFileName(files[0])} ...");
}
