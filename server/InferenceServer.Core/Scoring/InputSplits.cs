using Parquet;

namespace InferenceServer.Core.Scoring;

/// <summary>
/// Cuts the input into <see cref="InputSplit"/>s and picks a shard's. The cut depends only on the files and the split
/// size, so every run, every resume and every shard of the same input sees the same splits.
/// </summary>
public static class InputSplits
{
    /// <summary>The default byte range of a CSV or JSONL split: large enough to amortize a commit, small enough that a crash loses little.</summary>
    public const long DefaultSplitBytes = 32L << 20;

    /// <summary>Every split of <paramref name="files"/> (in that order): each Parquet row group, each <paramref name="splitBytes"/> of text.</summary>
    /// <exception cref="ScoreException">A file that cannot be read.</exception>
    public static async Task<IReadOnlyList<InputSplit>> PlanAsync(IReadOnlyList<string> files, long splitBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentOutOfRangeException.ThrowIfLessThan(splitBytes, 1);
        var splits = new List<InputSplit>();
        foreach (var path in files)
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw new ScoreException($"input file '{path}' does not exist");
            }
            var format = ScoreInput.FormatOf(path);
            var size = info.Length;
            var modified = info.LastWriteTimeUtc.Ticks;
            if (format == InputFormat.Parquet)
            {
                try
                {
                    await using var reader = await ParquetReader.CreateAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false);
                    long firstRow = 0;
                    for (var g = 0; g < reader.RowGroupCount; g++)
                    {
                        var group = reader.RowGroups[g];
                        splits.Add(new InputSplit(path, format, splits.Count, g, 0, group.RowGroup.TotalByteSize, group.RowCount, firstRow, size, modified));
                        firstRow += group.RowCount;
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException and not ScoreException)
                {
                    throw new ScoreException($"'{path}' is not a readable Parquet file: {e.Message}", e);
                }
                continue;
            }
            var ranges = Math.Max(1, (size + splitBytes - 1) / splitBytes);
            for (var r = 0; r < ranges; r++)
            {
                var start = r * splitBytes;
                splits.Add(new InputSplit(path, format, splits.Count, (int)r, start, Math.Min(splitBytes, size - start), -1, -1, size, modified));
            }
        }
        return splits;
    }

    /// <summary>
    /// Shard <paramref name="shard"/> of <paramref name="shards"/>: a contiguous run of the splits, so a shard's output is
    /// a contiguous run of the input's rows and the shards' outputs together sort in input order. Split sizes differ by at
    /// most one between shards; together the shards take every split exactly once.
    /// </summary>
    public static IReadOnlyList<InputSplit> Shard(IReadOnlyList<InputSplit> splits, int shard, int shards)
    {
        ArgumentNullException.ThrowIfNull(splits);
        ArgumentOutOfRangeException.ThrowIfLessThan(shards, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(shard);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(shard, shards);
        var from = (int)((long)shard * splits.Count / shards);
        var to = (int)((long)(shard + 1) * splits.Count / shards);
        var taken = new InputSplit[to - from];
        for (var i = from; i < to; i++)
        {
            taken[i - from] = splits[i];
        }
        return taken;
    }

    /// <summary>
    /// The rows of <paramref name="split"/>'s file before the split (CSV: data rows; JSONL: lines), so that the split's
    /// row r is the file's row RowsBefore + r. A text split counts the lines before it, reading the file up to there:
    /// call it only when a row number must be shown (a quarantined row).
    /// </summary>
    public static long RowsBefore(InputSplit split)
    {
        ArgumentNullException.ThrowIfNull(split);
        if (split.Format == InputFormat.Parquet)
        {
            return split.FirstRow;
        }
        using var file = new FileStream(split.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 12);
        var header = split.Format == InputFormat.Csv ? LineRange.NextLineStart(file, 1) : 0;
        var (begin, _) = LineRange.Align(file, split.Start, split.Length, header);
        var lines = LineRange.LinesBefore(split.Path, begin);
        return split.Format == InputFormat.Csv ? Math.Max(0, lines - 1) : lines;
    }
}
