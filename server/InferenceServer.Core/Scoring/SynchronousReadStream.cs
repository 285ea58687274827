namespace InferenceServer.Core.Scoring;

/// <summary>
/// A file read synchronously even when asked asynchronously, so that Parquet.Net's reading of a column chunk
/// (asynchronous throughout) runs start to end on the thread that asked, with nothing handed to the thread pool
/// between its rented buffers' rent and return (see <see cref="ParquetThread"/>). A local file's reads are
/// short; the pipeline's other stages run meanwhile on their own threads.
/// </summary>
internal sealed class SynchronousReadStream(FileStream file) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => file.Length;

    public override long Position
    {
        get => file.Position;
        set => file.Position = value;
    }

    public override int Read(byte[] buffer, int offset, int count) => file.Read(buffer, offset, count);

    public override int Read(Span<byte> buffer) => file.Read(buffer);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(file.Read(buffer, offset, count));
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(file.Read(buffer.Span));
    }

    public override long Seek(long offset, SeekOrigin origin) => file.Seek(offset, origin);

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException("the input file is read only");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("the input file is read only");

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            file.Dispose();
        }
        base.Dispose(disposing);
    }
}
