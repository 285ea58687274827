namespace InferenceServer.Core.Scoring;

/// <summary>
/// Reads the rows of one <see cref="InputSplit"/> in batches: a Parquet row group, or the lines of a CSV or JSONL byte
/// range. Only the asked columns are read; a column the file lacks is missing in every row. The scorer and the
/// profiler read through it, so both see a file the same way.
/// </summary>
public abstract class RecordReader : IAsyncDisposable
{
    /// <summary>The split being read.</summary>
    public abstract InputSplit Split { get; }

    /// <summary>Every column the file has (Parquet: the schema; CSV: the header; JSONL: the first row's keys).</summary>
    public abstract IReadOnlyList<string> FileColumns { get; }

    /// <summary>
    /// What reading the split holds besides the batches, estimated before anything is read (a Parquet row group's
    /// decoded columns); 0 where a reader holds no more than a buffer (CSV, JSONL).
    /// </summary>
    public virtual long DecodedBytes => 0;

    /// <summary>
    /// Fills <paramref name="batch"/> (reset first) with up to <paramref name="maxRows"/> next rows, cells in the batch's
    /// column order; false when the split has no rows left (the batch is then empty). Each row's number is its 1-based
    /// position in the split; <see cref="InputSplits.RowsBefore"/> turns it into the file's.
    /// </summary>
    public abstract ValueTask<bool> ReadAsync(RecordBatch batch, int maxRows, CancellationToken cancellationToken);


    /// <summary>Opens <paramref name="split"/> for <paramref name="columns"/>.</summary>
    /// <exception cref="ScoreException">The file cannot be read.</exception>
    public static async Task<RecordReader> OpenAsync(InputSplit split, IReadOnlyList<string> columns, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(split);
        ArgumentNullException.ThrowIfNull(columns);
        try
        {
            return split.Format switch
            {
                InputFormat.Parquet => await ParquetRecordReader.OpenSplitAsync(split, columns, cancellationToken).ConfigureAwait(false),
                InputFormat.Csv => CsvRecordReader.Open(split, columns),
                _ => JsonLinesRecordReader.Open(split, columns),
            };
        }
        catch (IOException e)
        {
            throw new ScoreException($"cannot read {split}: {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new ScoreException($"cannot read {split}: {e.Message}", e);
        }
    }

    /// <inheritdoc />
    public abstract ValueTask DisposeAsync();
}
