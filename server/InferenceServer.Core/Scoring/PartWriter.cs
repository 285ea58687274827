namespace InferenceServer.Core.Scoring;

/// <summary>Writes the scored rows of one split into its part file, in the output format; <see cref="CompleteAsync"/> finishes the file.</summary>
internal abstract class PartWriter : IAsyncDisposable
{
    /// <summary>
    /// A writer of <paramref name="format"/> over <paramref name="stream"/> (left open), for rows of <paramref name="schema"/>,
    /// buffering at most about <paramref name="writerBytes"/> (the text formats stream, and buffer far less).
    /// </summary>
    public static PartWriter Create(OutputFormat format, Stream stream, OutputSchema schema, long writerBytes) => format switch
    {
        OutputFormat.Parquet => new ParquetPartWriter(stream, schema, writerBytes),
        OutputFormat.Csv => new CsvPartWriter(stream, schema),
        _ => new JsonLinesPartWriter(stream, schema),
    };

    /// <summary>The file extension of <paramref name="format"/>'s parts, with the dot.</summary>
    public static string Extension(OutputFormat format) => format switch
    {
        OutputFormat.Parquet => ".parquet",
        OutputFormat.Csv => ".csv",
        _ => ".jsonl",
    };

    /// <summary>Writes the batch's scored rows.</summary>
    public abstract ValueTask WriteAsync(ScoredBatch batch, CancellationToken cancellationToken);

    /// <summary>Writes what is buffered and the file's end (a Parquet footer); the stream is then complete.</summary>
    public abstract ValueTask CompleteAsync(CancellationToken cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
