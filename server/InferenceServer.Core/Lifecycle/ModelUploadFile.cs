namespace InferenceServer.Core.Lifecycle;

/// <summary>
/// One uploaded file being written (<see cref="ModelUpload.CreateFile"/>): its path and size were checked and its bytes
/// reserved before it was created; the protocol writes it piece by piece as it reads or decodes the request, then
/// disposes it.
/// </summary>
public sealed class ModelUploadFile : IDisposable
{
    private readonly FileStream _stream;
    private readonly Func<Exception, Inference.InferenceException> _cannotWrite;
    private readonly long _length;
    private long _written;

    internal ModelUploadFile(FileStream stream, long length, Func<Exception, Inference.InferenceException> cannotWrite)
    {
        _stream = stream;
        _length = length;
        _cannotWrite = cannotWrite;
    }

    /// <summary>Appends <paramref name="bytes"/>; Unavailable (naming no server path) when the disk refuses them.</summary>
    /// <exception cref="InvalidOperationException">More bytes than the length the file was created with: the caller miscounted.</exception>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > _length - _written)
        {
            throw new InvalidOperationException($"the file was created for {_length} bytes; writing {bytes.Length} more after {_written} passes that");
        }
        try
        {
            _stream.Write(bytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw _cannotWrite(e);
        }
        _written += bytes.Length;
    }

    /// <summary>Closes the file.</summary>
    public void Dispose()
    {
        try
        {
            _stream.Dispose();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The last bytes could not be flushed: the file is incomplete, and the load that reads it fails naming it.
        }
    }
}
