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
    private readonly string _relativePath;
    private long _written;

    internal ModelUploadFile(FileStream stream, string relativePath, long length, Func<Exception, Inference.InferenceException> cannotWrite)
    {
        _stream = stream;
        _relativePath = relativePath;
        _length = length;
        _cannotWrite = cannotWrite;
    }

    /// <summary>
    /// The refusal of a file past the size of file the process may write (a file-size limit such as ulimit -f): .NET
    /// reports that errno (EFBIG) as an argument out of range, not as an IOException like a full disk.
    /// </summary>
    internal static Inference.InferenceException TooLargeToWrite(string relativePath, long length) =>
        new(Inference.InferenceErrorKind.TooLarge,
            $"file '{relativePath}' ({length} bytes) is too large: it passes the size of file the server may write to the upload folder");

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
        catch (ArgumentOutOfRangeException)
        {
            throw TooLargeToWrite(_relativePath, _length);
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
