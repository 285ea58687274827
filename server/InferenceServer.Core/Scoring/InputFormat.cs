namespace InferenceServer.Core.Scoring;

/// <summary>The file formats batch scoring reads and writes.</summary>
public enum InputFormat
{
    /// <summary>Apache Parquet (<c>.parquet</c>): a split is a row group.</summary>
    Parquet,

    /// <summary>CSV with a header row (<c>.csv</c>): a split is a byte range aligned to lines.</summary>
    Csv,

    /// <summary>One JSON object per line (<c>.jsonl</c>, <c>.ndjson</c>): a split is a byte range aligned to lines.</summary>
    JsonLines,
}
