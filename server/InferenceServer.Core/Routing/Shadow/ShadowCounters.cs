namespace InferenceServer.Core.Routing.Shadow;

/// <summary>
/// A mirror's cumulative counts. What callers' threads count (sampled, enqueued, dropped, canceled) is one interlocked
/// increment each; what the drain records after a comparison goes in under a lock, so that a snapshot's decisions
/// and flips (a rollout gate divides one by the other) and its per-output sums always belong to the same answers.
/// </summary>
internal sealed class ShadowCounters
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, OutputTotals> _outputs = new(StringComparer.Ordinal);
    private long _sampled;
    private long _enqueued;
    private long _dropped;
    private long _canceled;
    private long _failed;
    private long _compared;
    private long _decisions;
    private long _flips;

    public void Sampled() => Interlocked.Increment(ref _sampled);

    public void Enqueued() => Interlocked.Increment(ref _enqueued);

    public void Dropped() => Interlocked.Increment(ref _dropped);

    public void Canceled() => Interlocked.Increment(ref _canceled);

    public void Failed() => Interlocked.Increment(ref _failed);

    /// <summary>Records one shadow answer compared with its primary's, output by output.</summary>
    public void Compared(List<ShadowOutputDifference> differences) => Compared(differences, 1);

    /// <summary>
    /// Records <paramref name="answers"/> shadow answers compared with their primaries', the outputs of all of them in
    /// <paramref name="differences"/>: a batched run takes the lock once, not once per copy.
    /// </summary>
    public void Compared(List<ShadowOutputDifference> differences, int answers)
    {
        lock (_lock)
        {
            _compared += answers;
            foreach (var difference in differences)
            {
                if (!_outputs.TryGetValue(difference.Output, out var totals))
                {
                    totals = new OutputTotals();
                    _outputs.Add(difference.Output, totals);
                }
                totals.Compared++;
                totals.ShapeMismatches += difference.ShapeMismatch ? 1 : 0;
                totals.Elements += difference.Elements;
                totals.AbsoluteDifferenceSum += difference.AbsoluteDifferenceSum;
                totals.Mismatches += difference.Mismatches;
                totals.Decisions += difference.Decisions;
                totals.Flips += difference.Flips;
                _decisions += difference.Decisions;
                _flips += difference.Flips;
            }
        }
    }

    /// <summary>The decisions compared and the flips among them, from the same answers.</summary>
    public (long Decisions, long Flips) DecisionCounts()
    {
        lock (_lock)
        {
            return (_decisions, _flips);
        }
    }

    /// <summary>The counts now; <paramref name="queued"/> is the queue's length, which the mirror knows.</summary>
    public ShadowSnapshot Snapshot(int queued)
    {
        lock (_lock)
        {
            var outputs = new ShadowOutputSnapshot[_outputs.Count];
            var i = 0;
            foreach (var (name, totals) in _outputs)
            {
                outputs[i++] = new ShadowOutputSnapshot(name, totals.Compared, totals.ShapeMismatches, totals.Elements,
                    totals.AbsoluteDifferenceSum, totals.Mismatches, totals.Decisions, totals.Flips);
            }
            Array.Sort(outputs, static (a, b) => string.CompareOrdinal(a.Output, b.Output));
            return new ShadowSnapshot(
                Interlocked.Read(ref _sampled), Interlocked.Read(ref _enqueued), Interlocked.Read(ref _dropped),
                Interlocked.Read(ref _canceled), Interlocked.Read(ref _failed),
                _compared, _decisions, _flips, queued, outputs);
        }
    }

    private sealed class OutputTotals
    {
        public long Compared;
        public long ShapeMismatches;
        public long Elements;
        public double AbsoluteDifferenceSum;
        public long Mismatches;
        public long Decisions;
        public long Flips;
    }
}
