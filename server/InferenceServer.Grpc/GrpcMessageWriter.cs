using System.Buffers;
using System.IO.Compression;
using System.IO.Pipelines;

namespace InferenceServer.Grpc;

/// <summary>
/// Writes a call's response messages into the response body. A serializer that knows a message's size writes it
/// straight into the response pipe: <see cref="BeginMessage"/> writes the 5-byte prefix and hands out a buffer
/// writer for exactly that many bytes, <see cref="EndMessage"/> checks they all came. Messages go out at
/// <see cref="FlushAsync"/> (the dispatcher flushes after a unary handler returns). One writer at a time: a
/// streaming handler that writes from several tasks must serialize them itself.
/// </summary>
public sealed class GrpcMessageWriter
{
    private readonly PipeWriter _pipe;
    private readonly int _maxSendMessageSize;
    private readonly CompressionLevel? _compression;
    private readonly CancellationToken _callToken;
    private readonly MessageBodyWriter _body = new();
    private PooledBufferWriter? _staging;
    private PooledBufferWriter? _compressed;
    private bool _inMessage;

    internal GrpcMessageWriter(PipeWriter pipe, int maxSendMessageSize, CompressionLevel? compression, CancellationToken callToken)
    {
        _pipe = pipe;
        _maxSendMessageSize = maxSendMessageSize;
        _compression = compression;
        _callToken = callToken;
    }

    /// <summary>Number of messages completed so far.</summary>
    public int MessagesWritten { get; private set; }

    /// <summary>True between <see cref="BeginMessage"/> and <see cref="EndMessage"/>: a frame is half written.</summary>
    internal bool InMessage => _inMessage;

    /// <summary>
    /// Starts a message of exactly <paramref name="length"/> bytes and returns where to write them (the response pipe
    /// itself when the message is not compressed). RESOURCE_EXHAUSTED past the send limit, before anything is written.
    /// </summary>
    public IBufferWriter<byte> BeginMessage(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (_inMessage)
        {
            throw new InvalidOperationException("The previous response message was not ended.");
        }
        if (length > _maxSendMessageSize)
        {
            throw new GrpcStatusException(GrpcStatusCode.ResourceExhausted, $"Response message of {length} bytes exceeds the limit of {_maxSendMessageSize} bytes.");
        }
        _inMessage = true;
        if (_compression is not null)
        {
            _staging ??= new PooledBufferWriter(Math.Max(length, 256));
            _staging.Reset();
            _body.Start(_staging, length);
            return _body;
        }
        GrpcFrame.WriteHeader(_pipe.GetSpan(GrpcFrame.HeaderSize), compressed: false, length);
        _pipe.Advance(GrpcFrame.HeaderSize);
        _body.Start(_pipe, length);
        return _body;
    }

    /// <summary>Ends the message begun by <see cref="BeginMessage"/>; throws when fewer bytes were written than declared.</summary>
    public void EndMessage()
    {
        if (!_inMessage)
        {
            throw new InvalidOperationException("No response message was begun.");
        }
        if (_body.Remaining != 0)
        {
            throw new InvalidOperationException($"The response message is {_body.Remaining} bytes short of its declared length.");
        }
        _body.Stop();
        if (_compression is { } level)
        {
            // One copy more than the uncompressed path: the compressed length must be known before the prefix.
            _compressed ??= new PooledBufferWriter(Math.Max(_staging!.WrittenCount / 2, 256));
            _compressed.Reset();
            GrpcCompression.Compress(_staging!.WrittenSpan, _compressed, level);
            var compressed = _compressed.WrittenSpan;
            var span = _pipe.GetSpan(GrpcFrame.HeaderSize + compressed.Length);
            GrpcFrame.WriteHeader(span, compressed: true, compressed.Length);
            compressed.CopyTo(span[GrpcFrame.HeaderSize..]);
            _pipe.Advance(GrpcFrame.HeaderSize + compressed.Length);
        }
        _inMessage = false;
        MessagesWritten++;
    }

    /// <summary>Writes a whole message held in memory.</summary>
    public void WriteMessage(ReadOnlySpan<byte> message)
    {
        var writer = BeginMessage(message.Length);
        if (!message.IsEmpty)
        {
            message.CopyTo(writer.GetSpan(message.Length));
            writer.Advance(message.Length);
        }
        EndMessage();
    }

    /// <summary>Writes a whole message held in a sequence of buffers.</summary>
    public void WriteMessage(in ReadOnlySequence<byte> message)
    {
        if (message.Length > int.MaxValue)
        {
            throw new GrpcStatusException(GrpcStatusCode.ResourceExhausted, "Response message is over 2 GiB.");
        }
        var writer = BeginMessage((int)message.Length);
        foreach (var segment in message)
        {
            segment.Span.CopyTo(writer.GetSpan(segment.Length));
            writer.Advance(segment.Length);
        }
        EndMessage();
    }

    /// <summary>Sends what has been written (the response headers too, the first time).</summary>
    /// <param name="cancellationToken">Defaults to the call's token (deadline or client reset).</param>
    public ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        if (_inMessage)
        {
            throw new InvalidOperationException("Cannot flush in the middle of a response message.");
        }
        var flush = _pipe.FlushAsync(cancellationToken.CanBeCanceled ? cancellationToken : _callToken);
        if (flush.IsCompletedSuccessfully)
        {
            var result = flush.Result;
            return result.IsCanceled ? throw Cancelled() : default;
        }
        return AwaitFlushAsync(flush);
    }

    /// <summary>Writes a whole message and flushes it.</summary>
    public ValueTask WriteMessageAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default)
    {
        WriteMessage(message.Span);
        return FlushAsync(cancellationToken);
    }

    private static async ValueTask AwaitFlushAsync(ValueTask<FlushResult> flush)
    {
        var result = await flush.ConfigureAwait(false);
        if (result.IsCanceled)
        {
            throw Cancelled();
        }
    }

    private static GrpcStatusException Cancelled() => new(GrpcStatusCode.Cancelled, "Writing the response was cancelled.");

    /// <summary>Returns the pooled staging buffers; the call is over.</summary>
    internal void ReturnBuffers()
    {
        _staging?.Dispose();
        _compressed?.Dispose();
    }
}
