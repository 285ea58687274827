namespace InferenceServer.FeatureSidecar.Materialize;

/// <summary>An offline file read row by row, only the columns materialize asked for.</summary>
internal interface IRowSource : IAsyncDisposable
{
    /// <summary>How far through the file the reads are, from 0 to 1.</summary>
    double Progress { get; }

    /// <summary>Where the last row read is, for messages about it ("file.csv:12", "file.parquet: row 12").</summary>
    string Where { get; }

    /// <summary>What is wrong with the last row read as a whole (e.g. too few cells); null when nothing is.</summary>
    string? RowProblem { get; }

    /// <summary>
    /// Reads the next row into <paramref name="cells"/>, one per asked column in order, as invariant text (null when
    /// empty or null in the file); false at the end of the file.
    /// </summary>
    ValueTask<bool> ReadAsync(string?[] cells, CancellationToken cancellationToken);
}
