namespace InferenceServer.Core.Scoring;

/// <summary>The file format of the scored output's part files.</summary>
public enum OutputFormat
{
    /// <summary>Apache Parquet: typed columns (predictions keep their type).</summary>
    Parquet,

    /// <summary>CSV with a header row; numbers written invariantly, shortest round-trip.</summary>
    Csv,

    /// <summary>One JSON object per line.</summary>
    JsonLines,
}
