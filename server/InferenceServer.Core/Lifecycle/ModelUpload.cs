namespace InferenceServer.Core.Lifecycle;

/// <summary>
/// Model files a repository-API load uploads (Triton's <c>file:&lt;version&gt;/&lt;name&gt;</c> parameters), written to a
/// fresh folder as the protocol reads them, so that no second copy of a file is held in memory. Begun by
/// <see cref="Serving.InferenceFrontDoor.BeginUpload"/>, handed to the load in <see cref="ModelLoadOverrides"/>, and
/// disposed by whoever began it once the load is done (or was never made): the files then stay only as long as a
/// version loaded from them.
/// </summary>
public sealed class ModelUpload : IDisposable
{
    private readonly UploadedModelFolder _folder;
    private int _disposed;

    internal ModelUpload(string modelName, UploadedModelFolder folder)
    {
        ModelName = modelName;
        _folder = folder;
    }

    /// <summary>The model the files are for.</summary>
    public string ModelName { get; }

    /// <summary>How many files were written.</summary>
    public int FileCount => _folder.FileCount;

    internal UploadedModelFolder Folder => _folder;

    /// <summary>Writes one file, <paramref name="relativePath"/> being what follows <c>file:</c> (e.g. <c>1/model.onnx</c>).</summary>
    /// <exception cref="Inference.InferenceException">
    /// InvalidArgument for a path that leaves the model folder, is too long, or conflicts with another file's; TooLarge past
    /// the upload limits; Unavailable when the disk refuses the file.
    /// </exception>
    public void AddFile(string relativePath, ReadOnlySpan<byte> content) => _folder.AddFile(relativePath, content);

    /// <summary>
    /// Creates the file at <paramref name="relativePath"/> for <paramref name="length"/> bytes, which the caller writes
    /// piece by piece (decoding as it goes) and then disposes.
    /// </summary>
    /// <exception cref="Inference.InferenceException">As <see cref="AddFile"/>.</exception>
    public ModelUploadFile CreateFile(string relativePath, long length) => _folder.CreateFile(relativePath, length);

    /// <summary>Drops the upload's hold on its files: they are deleted now unless a loaded version uses them.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _folder.Release();
        }
    }
}
