namespace InferenceServer.Core.Scoring;

/// <summary>
/// One column of a Parquet row group, decoded into its compact form: numbers in their own width, text as a code per
/// row into the column's distinct values. Built a column at a time from Parquet.Net's whole-chunk read, whose buffers
/// go back to the pool as soon as the column is encoded; the batches are filled from here a block at a time.
/// </summary>
internal abstract class ParquetColumn : IDisposable
{
    /// <summary>What the column holds, in bytes (its arrays and its distinct texts).</summary>
    public abstract long Bytes { get; }

    /// <summary>Sets <paramref name="count"/> cells of <paramref name="batch"/>'s column from <paramref name="row"/> on to this column's values from <paramref name="from"/> on.</summary>
    public abstract void Fill(RecordBatch batch, int column, int row, int from, int count);

    /// <inheritdoc />
    public abstract void Dispose();
}
