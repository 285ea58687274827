using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Threading.RateLimiting;
using Grpc.Core;
using InferenceServer.Protocols.Buffers;
using Microsoft.AspNetCore.Http.Features;

namespace InferenceServer.Protocols.Grpc;

/// <summary>
/// The request body of a gRPC call as Grpc.AspNetCore reads it, with each message's bytes reserved in the server's
/// <see cref="RequestBodyBudget"/> as soon as its length prefix arrives and given back once the message has been read.
/// While a message waits for room nothing more of it is read, so HTTP/2 flow control holds the rest at the client and
/// the server buffers no more than a flow-control window of it; a message that gets no room within the budget's wait
/// ends the call with RESOURCE_EXHAUSTED. A message over the receive limit is left to Grpc.AspNetCore, which refuses it.
/// </summary>
internal sealed class BudgetedMessageReader(PipeReader inner, RequestBodyBudget budget, int maxMessageBytes) : PipeReader, IRequestBodyPipeFeature, IDisposable
{
    // The compressed flag and the big-endian message length.
    private const int PrefixBytes = 5;

    private RateLimitLease? _lease;
    private long _unconsumed;
    private ReadOnlySequence<byte> _buffer;

    PipeReader IRequestBodyPipeFeature.Reader => this;

    public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        var result = await inner.ReadAsync(cancellationToken).ConfigureAwait(false);
        if (_lease is null && MessageBytes(result.Buffer) is { } bytes)
        {
            var lease = budget.TryReserve(bytes);
            if (lease is null)
            {
                // Nothing examined: the next read returns what is buffered now, once the message has room.
                inner.AdvanceTo(result.Buffer.Start);
                lease = await budget.ReserveAsync(bytes, cancellationToken).ConfigureAwait(false)
                    ?? throw new RpcException(new Status(StatusCode.ResourceExhausted, GrpcMessageLimits.BudgetExhausted(budget.CapacityBytes)));
                result = await inner.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            Hold(lease, bytes);
        }
        _buffer = result.Buffer;
        return result;
    }

    public override bool TryRead(out ReadResult result)
    {
        if (!inner.TryRead(out result))
        {
            return false;
        }
        if (_lease is null && MessageBytes(result.Buffer) is { } bytes)
        {
            if (budget.TryReserve(bytes) is not { } lease)
            {
                // No room now: the caller's next ReadAsync waits for it.
                inner.AdvanceTo(result.Buffer.Start);
                result = default;
                return false;
            }
            Hold(lease, bytes);
        }
        _buffer = result.Buffer;
        return true;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        if (_lease is not null)
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
        Release();
        inner.Complete(exception);
    }

    /// <summary>Gives back what a call that ended in the middle of a message still holds.</summary>
    public void Dispose() => Release();

    private void Hold(RateLimitLease lease, long bytes)
    {
        _lease = lease;
        _unconsumed = bytes;
    }

    private void Release()
    {
        Interlocked.Exchange(ref _lease, null)?.Dispose();
        _unconsumed = 0;
    }

    // The bytes of the message starting the buffer (prefix included), once its prefix has arrived; null before that, and
    // for a message over the limit.
    private long? MessageBytes(ReadOnlySequence<byte> buffer)
    {
        if (buffer.Length < PrefixBytes)
        {
            return null;
        }
        Span<byte> prefix = stackalloc byte[PrefixBytes];
        buffer.Slice(0, PrefixBytes).CopyTo(prefix);
        var length = BinaryPrimitives.ReadUInt32BigEndian(prefix[1..]);
        return length <= (uint)maxMessageBytes ? PrefixBytes + (long)length : (long?)null;
    }
}
