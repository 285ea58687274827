namespace InferenceServer.FeatureSidecar.Stores;

/// <summary>
/// What tells one version of the store file from the next: its size and last write time. Materialize writes a new
/// file and renames it over the old one, so both change with every load.
/// </summary>
internal readonly record struct FileStamp(long Length, DateTime WrittenUtc)
{
    /// <summary>There is no file.</summary>
    public static readonly FileStamp Missing = new(-1, DateTime.MinValue);

    public static FileStamp Of(string path)
    {
        var file = new FileInfo(path);
        return file.Exists ? new FileStamp(file.Length, file.LastWriteTimeUtc) : Missing;
    }
}
