using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Pipelines;
using System.Threading.RateLimiting;
using Grpc.Core;
using InferenceServer.Protocols.Buffers;
using Microsoft.AspNetCore.Http.Features;

namespace InferenceServer.Protocols.Grpc;

/// <summary>
/// The request body of a gRPC call as Grpc.AspNetCore reads it, with two changes. Each message's bytes are reserved in
/// the server's <see cref="RequestBodyBudget"/> as soon as its length prefix arrives and given back once the message
/// has been read; while a message waits for room nothing more of it is read, so HTTP/2 flow control holds the rest at
/// the client. And a message compressed with gzip or deflate is inflated here, into native memory counted in the
/// budget and bounded by the receive limit, and handed on as an uncompressed message.
/// </summary>
/// <remarks>
/// Grpc.AspNetCore inflates a compressed message into a buffer of its own that doubles as it fills, from the shared
/// array pool, and checks nothing until the copy is done: a 300 KB gzip bomb grew it to arrays of 64, 128 and 256 MiB
/// that then stayed in the pool for good. Inflated here, a message past the limit costs native memory that goes back to
/// the system the moment the call is refused. A message over the receive limit before inflating, or in an encoding
/// other than gzip and deflate, is left to Grpc.AspNetCore, which refuses it.
/// </remarks>
internal sealed class BudgetedMessageReader(PipeReader inner, RequestBodyBudget budget, int maxMessageBytes, string? encoding)
    : PipeReader, IRequestBodyPipeFeature, IDisposable
{
    // The compressed flag and the big-endian message length.
    private const int PrefixBytes = 5;

    // Inflated a chunk at a time.
    private const int InflateChunk = 64 * 1024;

    // Room held by the message being read (its bytes, then what they inflate to), given back once it is consumed.
    private readonly List<RateLimitLease> _leases = [];
    private long _unconsumed;
    private ReadOnlySequence<byte> _buffer;

    // An inflated message handed on in place of the compressed one, and the inner buffer it replaced.
    private NativeBuffer? _inflated;
    private ReadOnlySequence<byte> _replaced;
    private SequencePosition _replacedEnd;

    PipeReader IRequestBodyPipeFeature.Reader => this;

    public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var result = await inner.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (!TryReadPrefix(buffer, out var compressed, out var length))
            {
                _buffer = buffer;
                return result;
            }
            if (_leases.Count == 0)
            {
                if (budget.TryReserve(PrefixBytes + length) is not { } lease)
                {
                    // Nothing examined: once the message has room, the next read returns what is buffered now.
                    inner.AdvanceTo(buffer.Start);
                    _leases.Add(await budget.ReserveAsync(PrefixBytes + length, cancellationToken).ConfigureAwait(false) ?? throw BudgetExhausted());
                    _unconsumed = PrefixBytes + length;
                    continue;
                }
                _leases.Add(lease);
                _unconsumed = PrefixBytes + length;
            }
            if (!compressed || !IsInflatedHere || buffer.Length < PrefixBytes + length)
            {
                _buffer = buffer;
                return result;
            }
            try
            {
                _inflated = await InflateAsync(buffer.Slice(PrefixBytes, length), cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                inner.AdvanceTo(buffer.Start);
                throw;
            }
            _replaced = buffer;
            _replacedEnd = buffer.GetPosition(PrefixBytes + length);
            _buffer = new ReadOnlySequence<byte>(new NativeBufferMemory(_inflated).Memory);
            return new ReadResult(_buffer, result.IsCanceled, result.IsCompleted && buffer.Length == PrefixBytes + length);
        }
    }

    // Grpc.AspNetCore reads with ReadAsync only; a synchronous read would hand it compressed messages to inflate itself.
    public override bool TryRead(out ReadResult result)
    {
        result = default;
        return false;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        if (_inflated is not null)
        {
            var whole = consumed.Equals(_buffer.End);
            _inflated.Dispose();
            _inflated = null;
            _buffer = default;
            if (whole)
            {
                Release();
                inner.AdvanceTo(_replacedEnd);
            }
            else
            {
                // Not taken: the compressed message is inflated again by the next read.
                inner.AdvanceTo(_replaced.Start);
            }
            return;
        }
        if (_leases.Count > 0)
        {
            _unconsumed -= _buffer.Slice(_buffer.Start, consumed).Length;
            if (_unconsumed <= 0)
            {
                Release();
            }
        }
        _buffer = default;
        inner.AdvanceTo(consumed, examined);
    }

    public override void CancelPendingRead() => inner.CancelPendingRead();

    public override void Complete(Exception? exception = null)
    {
        Dispose();
        inner.Complete(exception);
    }

    /// <summary>Gives back what a call that ended in the middle of a message still holds.</summary>
    public void Dispose()
    {
        _inflated?.Dispose();
        _inflated = null;
        Release();
    }

    private bool IsInflatedHere => encoding is "gzip" or "deflate";

    private void Release()
    {
        foreach (var lease in _leases)
        {
            lease.Dispose();
        }
        _leases.Clear();
        _unconsumed = 0;
    }

    // Inflates a message into [prefix][bytes], the prefix saying "not compressed" and the inflated length.
    private async ValueTask<NativeBuffer> InflateAsync(ReadOnlySequence<byte> message, CancellationToken cancellationToken)
    {
        var inflated = new NativeBuffer();
        try
        {
            inflated.GetSpan(PrefixBytes).Clear();
            inflated.Advance(PrefixBytes);
            var source = PipeReader.Create(message).AsStream();
            using var inflater = encoding == "gzip"
                ? (Stream)new GZipStream(source, CompressionMode.Decompress)
                : new ZLibStream(source, CompressionMode.Decompress);
            long reserved = 0;
            while (true)
            {
                var produced = inflated.Length - PrefixBytes;
                if (produced + InflateChunk > reserved)
                {
                    // Room for what comes out next, before it comes out: doubling, so a large message takes a few leases.
                    var step = Math.Max(InflateChunk, reserved);
                    _leases.Add(await budget.ReserveAsync(step, cancellationToken).ConfigureAwait(false) ?? throw BudgetExhausted());
                    reserved += step;
                }
                // One byte past the limit is enough to know it is exceeded; nothing beyond that is inflated.
                var read = Inflate(inflater, inflated, (int)Math.Min(InflateChunk, maxMessageBytes - produced + 1));
                if (read == 0)
                {
                    break;
                }
                if (produced + read > maxMessageBytes)
                {
                    throw new RpcException(new Status(StatusCode.ResourceExhausted, GrpcMessageLimits.DecompressedLimitExceeded(maxMessageBytes)));
                }
                inflated.Advance(read);
            }
            inflated.Written[0] = 0;
            BinaryPrimitives.WriteUInt32BigEndian(inflated.Written[1..PrefixBytes], (uint)(inflated.Length - PrefixBytes));
            return inflated;
        }
        catch
        {
            inflated.Dispose();
            throw;
        }
    }

    private int Inflate(Stream inflater, NativeBuffer inflated, int count)
    {
        try
        {
            return inflater.Read(inflated.GetSpan(count));
        }
        catch (InvalidDataException e)
        {
            // The client sent it: INVALID_ARGUMENT, as for any other malformed request message.
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"A request message is not valid {encoding} data: {e.Message}"));
        }
    }

    private RpcException BudgetExhausted() => new(new Status(StatusCode.ResourceExhausted, GrpcMessageLimits.BudgetExhausted(budget.CapacityBytes)));

    // The compressed flag and length of the message starting the buffer, once its prefix has arrived; false before
    // that. A message over the limit, or with a flag other than 0 or 1, is refused.
    private bool TryReadPrefix(ReadOnlySequence<byte> buffer, out bool compressed, out long length)
    {
        compressed = false;
        length = 0;
        if (buffer.Length < PrefixBytes)
        {
            return false;
        }
        Span<byte> prefix = stackalloc byte[PrefixBytes];
        buffer.Slice(0, PrefixBytes).CopyTo(prefix);
        var declared = BinaryPrimitives.ReadUInt32BigEndian(prefix[1..]);
        if (declared > (uint)maxMessageBytes)
        {
            // Refused here with the limit named: Grpc.AspNetCore fails a length past 2^31-1 as UNKNOWN.
            throw new RpcException(new Status(StatusCode.ResourceExhausted, GrpcMessageLimits.ReceiveLimitExceeded(maxMessageBytes)));
        }
        if (prefix[0] > 1)
        {
            // The framing allows 0 (plain) and 1 (compressed) only; Grpc.AspNetCore would fail the call as UNKNOWN.
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"A request message's compressed flag is {prefix[0]}; the gRPC framing allows 0 or 1"));
        }
        compressed = prefix[0] == 1;
        length = declared;
        return true;
    }
}
