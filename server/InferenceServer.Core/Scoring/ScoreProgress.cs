namespace InferenceServer.Core.Scoring;

/// <summary>Where a run is: rows written and refused, splits committed, speed and the time left.</summary>
/// <param name="Rows">Rows scored and written, this run (resumed splits not counted).</param>
/// <param name="BadRows">Rows quarantined, this run.</param>
/// <param name="SplitsDone">Splits committed, including those a resume found done.</param>
/// <param name="SplitsTotal">The shard's splits.</param>
/// <param name="Fraction">The share of the shard's input done, 0 to 1.</param>
/// <param name="Elapsed">Time since this run began.</param>
/// <param name="RowsPerSecond">Rows scored per second, this run.</param>
/// <param name="Remaining">The time left at this speed; null until there is a speed.</param>
public readonly record struct ScoreProgress(long Rows, long BadRows, int SplitsDone, int SplitsTotal, double Fraction, TimeSpan Elapsed,
    double RowsPerSecond, TimeSpan? Remaining);
