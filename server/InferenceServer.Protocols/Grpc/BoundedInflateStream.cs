using System.Threading.RateLimiting;
using Grpc.Core;
using InferenceServer.Protocols.Buffers;

namespace InferenceServer.Protocols.Grpc;

/// <summary>
/// Reads a decompression stream and fails the call with RESOURCE_EXHAUSTED once more than <c>maxBytes</c> came out
/// of it, or once the inflated bytes find no room in the server's <see cref="RequestBodyBudget"/>; with INTERNAL when
/// the input is not valid data for its encoding (as gRPC's own servers answer).
/// </summary>
/// <remarks>
/// Grpc.AspNetCore copies this stream into a <see cref="MemoryStream"/> that doubles as it fills: for a message at the
/// limit that is arrays of up to one and a half times the limit, left to the garbage collector, which keeps their
/// memory until its next full collection; a stream of gzip bombs held gigabytes that way. So the copy inflates into
/// native memory first, which goes back to the system the moment a message is refused, and hands the library the
/// whole message in one write, which it stores in one array of exactly the message's size. The inflated bytes hold room
/// in the budget (reserved a step at a time, without waiting: the copy is synchronous) until the library disposes this
/// stream, right after the copy.
/// </remarks>
internal sealed class BoundedInflateStream(Stream inflater, int maxBytes, string encoding, RequestBodyBudget budget) : Stream
{
    // Room is reserved in steps of at least this much, so a large message takes a few leases, not thousands.
    private const long ReserveStep = 1024 * 1024;

    // How much is inflated at a time by the copy.
    private const int CopyChunk = 64 * 1024;

    private readonly List<RateLimitLease> _leases = [];
    private long _produced;
    private long _reserved;

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

    public override void CopyTo(Stream destination, int bufferSize)
    {
        using var inflated = new NativeBuffer();
        int read;
        while ((read = Read(inflated.GetSpan(Math.Max(bufferSize, CopyChunk)))) > 0)
        {
            inflated.Advance(read);
        }
        destination.Write(inflated.Written);
    }

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
        if (_produced > _reserved)
        {
            var step = Math.Max(ReserveStep, _produced - _reserved);
            var lease = budget.TryReserve(step)
                ?? throw new RpcException(new Status(StatusCode.ResourceExhausted, GrpcMessageLimits.BudgetExhausted(budget.CapacityBytes)));
            _leases.Add(lease);
            _reserved += step;
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
            foreach (var lease in _leases)
            {
                lease.Dispose();
            }
            _leases.Clear();
        }
        base.Dispose(disposing);
    }
}
