using Grpc.Core;

namespace InferenceServer.Protocols.Grpc;

/// <summary>
/// Reads a decompression stream and fails the call with RESOURCE_EXHAUSTED once more than <c>maxBytes</c> came out
/// of it, or with INTERNAL when the input is not valid data for its encoding (as gRPC's own servers answer).
/// </summary>
internal sealed class BoundedInflateStream(Stream inflater, int maxBytes, string encoding) : Stream
{
    private long _produced;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => _produced;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        // One byte past the limit is enough to know it is exceeded; nothing beyond that is inflated.
        var allowed = maxBytes - _produced + 1;
        if (buffer.Length > allowed)
        {
            buffer = buffer[..(int)allowed];
        }
        int read;
        try
        {
            read = inflater.Read(buffer);
        }
        catch (InvalidDataException e)
        {
            throw new RpcException(new Status(StatusCode.Internal, $"A request message is not valid {encoding} data: {e.Message}"));
        }
        _produced += read;
        if (_produced > maxBytes)
        {
            throw new RpcException(new Status(StatusCode.ResourceExhausted, GrpcMessageLimits.DecompressedLimitExceeded(maxBytes)));
        }
        return read;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inflater.Dispose();
        }
        base.Dispose(disposing);
    }
}
