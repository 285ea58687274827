namespace InferenceServer.Core.Drift;

/// <summary>
/// Drift of a batch of rows (a scored file) against a profile: every row offered, a uniform reservoir of at most
/// <see cref="DriftSamples.Capacity"/> kept (Li's algorithm L, seeded, so a file gives the same report every run: once the
/// reservoir is full it draws how many rows to skip rather than a number per row, so a row not kept costs one
/// comparison), so memory does not grow with the file. One writer at a time.
/// </summary>
public sealed class DriftBatch : DriftSamples
{
    /// <summary>The rows a batch keeps by default: enough for PSI and KS to two decimals.</summary>
    public const int DefaultCapacity = 100_000;

    private readonly Random _random = new(15);
    private readonly Random _predictionRandom = new(16);
    private long _features;
    private long _predictions;
    // Algorithm L's state per stream (features, predictions): W, and the index of the next row kept once full.
    private readonly double[] _w = new double[2];
    private readonly long[] _next = new long[2];

    private DriftBatch(DriftPlan plan, int capacity)
        : base(plan, capacity)
    {
    }

    /// <summary>
    /// A batch compared against <paramref name="profile"/> (read from <paramref name="profilePath"/>); a view-level
    /// profile needs the model's <paramref name="view"/>. Throws <see cref="FormatException"/> when they do not match.
    /// </summary>
    public static DriftBatch Create(TrainingProfile profile, string profilePath, Features.FeatureView? view, int capacity = DefaultCapacity) =>
        new(DriftPlan.Compile(profile, profilePath, view), capacity);

    /// <summary>
    /// The batch of a model version whose folders are <paramref name="modelFolder"/> and <paramref name="versionFolder"/>,
    /// against the profile the server would load for it (the version folder's <c>profile.json</c>, else the model
    /// folder's); null when there is none. Throws <see cref="FormatException"/> for a profile that cannot be used.
    /// </summary>
    public static DriftBatch? ForModel(string modelFolder, string versionFolder, Features.FeatureView? view, int capacity = DefaultCapacity)
    {
        if (TrainingProfile.Find(modelFolder, versionFolder) is not { } path)
        {
            return null;
        }
        return Create(TrainingProfile.Read(path), Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(modelFolder))) + "/" + Path.GetRelativePath(modelFolder, path).Replace('\\', '/'), view, capacity);
    }

    /// <summary>
    /// Records one scored batch: the raw cells of its <paramref name="rows"/> (those that were scored, in order) for a
    /// view-level profile, or the encoded <paramref name="inputs"/> for a tensor-level one, and the model's
    /// <paramref name="outputs"/> for those rows. What <c>score</c> calls per batch, so its summary can print
    /// <see cref="DriftSamples.Report"/> for the file.
    /// </summary>
    public void Record(Scoring.RecordBatch batch, IReadOnlyList<int> rows, IReadOnlyList<Tensors.Tensor> inputs, IReadOnlyList<Tensors.Tensor> outputs, bool batched)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (Plan.ViewLevel)
        {
            RecordCells(batch, rows);
        }
        else
        {
            RecordInputs(inputs, batched);
        }
        RecordOutputs(outputs, batched);
    }

    /// <inheritdoc />
    public override long FeatureRowsSeen => _features;

    /// <inheritdoc />
    public override long PredictionRowsSeen => _predictions;

    private protected override void Reserve(Span<int> slots, bool predictions)
    {
        ref var seen = ref predictions ? ref _predictions : ref _features;
        var random = predictions ? _predictionRandom : _random;
        var stream = predictions ? 1 : 0;
        ref var w = ref _w[stream];
        ref var next = ref _next[stream];
        for (var i = 0; i < slots.Length; i++)
        {
            if (seen < Capacity)
            {
                slots[i] = (int)seen;
            }
            else
            {
                if (seen == Capacity)
                {
                    w = Math.Exp(Math.Log(Uniform(random)) / Capacity);
                    next = seen + Skip(random, w);
                }
                if (seen == next)
                {
                    slots[i] = random.Next(Capacity);
                    w *= Math.Exp(Math.Log(Uniform(random)) / Capacity);
                    next = seen + 1 + Skip(random, w);
                }
                else
                {
                    slots[i] = -1;
                }
            }
            seen++;
        }
    }

    // In (0, 1]: its logarithm is finite.
    private static double Uniform(Random random) => 1 - random.NextDouble();

    // The rows passed over before the next one kept: geometric with success probability w.
    private static long Skip(Random random, double w)
    {
        var skip = Math.Floor(Math.Log(Uniform(random)) / Math.Log(1 - w));
        // w so small that 1 - w is 1: no row is kept again in any file this side of 2^53 rows.
        return double.IsFinite(skip) && skip < 1e15 ? (long)skip : (long)1e15;
    }

    private protected override int Filled(bool predictions) => (int)Math.Min(predictions ? _predictions : _features, Capacity);
}
