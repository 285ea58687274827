using System.Buffers;
using System.IO.Pipelines;

namespace InferenceServer.Grpc;

/// <summary>
/// Reads a call's request messages from the request body as they arrive. Each message is exposed as
/// <see cref="Current"/> where it lies in the body's buffers (or in a pooled buffer when it was compressed), valid
/// until the next <see cref="MoveNextAsync"/> or until the handler returns: parse it, don't keep it.
/// Not safe for concurrent readers; reading while another task writes responses is fine.
/// </summary>
public sealed class GrpcMessageReader
{
    private readonly PipeReader _reader;
    private readonly int _maxReceiveMessageSize;
    private readonly string? _encoding;
    private readonly CancellationToken _cancellationToken;
    private SequencePosition _consumed;
    private bool _holdsMessage;
    private byte[] _inflated = [];
    private bool _completed;

    internal GrpcMessageReader(PipeReader reader, int maxReceiveMessageSize, string? encoding, CancellationToken cancellationToken)
    {
        _reader = reader;
        _maxReceiveMessageSize = maxReceiveMessageSize;
        _encoding = encoding;
        _cancellationToken = cancellationToken;
    }

    /// <summary>The message read by the last successful <see cref="MoveNextAsync"/>, decompressed.</summary>
    public ReadOnlySequence<byte> Current { get; private set; }

    /// <summary>
    /// Waits for the next whole message; false once the client has ended its stream. Throws
    /// <see cref="GrpcStatusException"/> for a message over the size limit, a truncated stream or a compression
    /// problem, and <see cref="OperationCanceledException"/> at the deadline or when the client resets the stream.
    /// </summary>
    public ValueTask<bool> MoveNextAsync() => ReadAsync(single: false);

    /// <summary>Reads the one message of a unary call and the end of stream after it; INTERNAL for none or more than one.</summary>
    internal async ValueTask<ReadOnlySequence<byte>> ReadSingleAsync()
    {
        if (!await ReadAsync(single: true).ConfigureAwait(false))
        {
            throw new GrpcStatusException(GrpcStatusCode.Internal, "The client sent no request message for a unary method.");
        }
        return Current;
    }

    /// <summary>Gives the current message's buffers back; the call ends or the next message is wanted.</summary>
    internal void Release()
    {
        if (_holdsMessage)
        {
            _holdsMessage = false;
            _reader.AdvanceTo(_consumed);
        }
        Current = default;
        var inflated = _inflated;
        if (inflated.Length > 0)
        {
            _inflated = [];
            ArrayPool<byte>.Shared.Return(inflated);
        }
    }

    private async ValueTask<bool> ReadAsync(bool single)
    {
        Release();
        if (_completed)
        {
            return false;
        }
        while (true)
        {
            var result = await _reader.ReadAsync(_cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (result.IsCanceled)
            {
                _reader.AdvanceTo(buffer.Start);
                throw new GrpcStatusException(GrpcStatusCode.Cancelled, "Reading the request was cancelled.");
            }
            bool found;
            byte flag;
            ReadOnlySequence<byte> message;
            try
            {
                found = GrpcFrame.TryRead(buffer, _maxReceiveMessageSize, out flag, out message);
            }
            catch
            {
                _reader.AdvanceTo(buffer.Start);
                throw;
            }
            if (found)
            {
                if (single)
                {
                    if (buffer.Length > message.Length + GrpcFrame.HeaderSize)
                    {
                        _reader.AdvanceTo(buffer.Start);
                        throw new GrpcStatusException(GrpcStatusCode.Internal, "The client sent more than one request message for a unary method.");
                    }
                    if (!result.IsCompleted)
                    {
                        // Keep the message unconsumed and wait for the end of stream; the frame is parsed again then.
                        _reader.AdvanceTo(buffer.Start, buffer.End);
                        continue;
                    }
                    _completed = true;
                }
                _consumed = message.End;
                _holdsMessage = true;
                Current = Decode(flag, message);
                return true;
            }
            if (result.IsCompleted)
            {
                _reader.AdvanceTo(buffer.End);
                _completed = true;
                if (buffer.IsEmpty)
                {
                    return false;
                }
                throw new GrpcStatusException(GrpcStatusCode.Internal, $"The request stream ended inside a message ({buffer.Length} bytes of an incomplete message).");
            }
            _reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private ReadOnlySequence<byte> Decode(byte flag, in ReadOnlySequence<byte> message)
    {
        if (flag == 0)
        {
            return message;
        }
        if (flag != 1)
        {
            throw new GrpcStatusException(GrpcStatusCode.Internal, $"Invalid compressed flag {flag} on a request message.");
        }
        if (GrpcCompression.IsIdentity(_encoding))
        {
            throw new GrpcStatusException(GrpcStatusCode.Internal, "A request message is flagged compressed but the call has no grpc-encoding.");
        }
        if (_encoding != GrpcCompression.Gzip)
        {
            throw new GrpcStatusException(GrpcStatusCode.Unimplemented, $"Message encoding '{_encoding}' is not supported; supported: {GrpcCompression.AcceptEncoding}.");
        }
        var length = GrpcCompression.Decompress(message, _maxReceiveMessageSize, ref _inflated);
        return new ReadOnlySequence<byte>(_inflated, 0, length);
    }
}
