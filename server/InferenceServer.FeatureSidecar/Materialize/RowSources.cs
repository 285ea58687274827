namespace InferenceServer.FeatureSidecar.Materialize;

/// <summary>Opens an offline file by its extension: <c>.csv</c> (Sep) or <c>.parquet</c> (Parquet.Net).</summary>
internal static class RowSources
{
    public static async Task<IRowSource> OpenAsync(string path, IReadOnlyList<string> columns, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            throw new MaterializeException($"{path} does not exist");
        }
        var extension = Path.GetExtension(path);
        if (extension.Equals(".csv", StringComparison.OrdinalIgnoreCase))
        {
            return CsvRowSource.Open(path, columns);
        }
        if (extension.Equals(".parquet", StringComparison.OrdinalIgnoreCase))
        {
            return await ParquetRowSource.OpenAsync(path, columns, cancellationToken).ConfigureAwait(false);
        }
        throw new MaterializeException($"{path} is neither .csv nor .parquet; materialize reads CSV (with a header row) and Parquet files");
    }
}
