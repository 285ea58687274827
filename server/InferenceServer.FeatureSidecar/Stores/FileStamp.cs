namespace InferenceServer.FeatureSidecar.Stores;

/// <summary>
/// What tells one version of the store file from the next: its size, last write time and creation time. Materialize
/// writes a new file and renames it over the old one, so the file is a new one with every load; its creation time tells
/// it apart even where a file system keeps write times to the second and two loads have the same size.
/// </summary>
internal readonly record struct FileStamp(long Length, DateTime WrittenUtc, DateTime CreatedUtc)
{
    /// <summary>There is no file.</summary>
    public static readonly FileStamp Missing = new(-1, DateTime.MinValue, DateTime.MinValue);

    public static FileStamp Of(string path)
    {
        var file = new FileInfo(path);
        return file.Exists ? new FileStamp(file.Length, file.LastWriteTimeUtc, file.CreationTimeUtc) : Missing;
    }
}
