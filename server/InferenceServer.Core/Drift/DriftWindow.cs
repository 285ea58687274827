namespace InferenceServer.Core.Drift;

/// <summary>
/// The live window: the latest <see cref="DriftSamples.Capacity"/> sampled rows, in rings that request threads write
/// without a lock. A writer takes its rows' slots with one interlocked add on a cursor, then writes its values into
/// them; a slot being overwritten while a report reads it gives the report either row, both real samples. The report
/// copies what it reads.
/// </summary>
public sealed class DriftWindow : DriftSamples
{
    private long _featureCursor;
    private long _predictionCursor;

    internal DriftWindow(DriftPlan plan, int capacity)
        : base(plan, capacity)
    {
    }

    /// <inheritdoc />
    public override long FeatureRowsSeen => Volatile.Read(ref _featureCursor);

    /// <inheritdoc />
    public override long PredictionRowsSeen => Volatile.Read(ref _predictionCursor);

    private protected override void Reserve(Span<int> slots, bool predictions)
    {
        var end = Interlocked.Add(ref predictions ? ref _predictionCursor : ref _featureCursor, slots.Length);
        var start = end - slots.Length;
        for (var i = 0; i < slots.Length; i++)
        {
            slots[i] = (int)((start + i) % Capacity);
        }
    }

    private protected override int Filled(bool predictions) => (int)Math.Min(predictions ? PredictionRowsSeen : FeatureRowsSeen, Capacity);
}
