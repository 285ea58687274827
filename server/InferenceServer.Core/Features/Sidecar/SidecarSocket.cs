using System.Buffers;
using System.Net.Sockets;

namespace InferenceServer.Core.Features.Sidecar;

/// <summary>
/// One end of a sidecar connection, read and written with blocking calls only, the reads on a thread of the
/// connection's own. On Linux, .NET turns a socket's descriptor non-blocking for good at its first asynchronous call;
/// from then on a receive waits for the runtime's epoll thread to see the data and hand it to a thread-pool thread:
/// two threads woken for every frame. A descriptor that stays blocking wakes the one thread that waits in the receive,
/// directly from the kernel. At low load those wake-ups are most of what a lookup costs over plain infer (RESULTS.md,
/// issue 14), and a lookup crosses the socket twice. So no asynchronous call may ever touch the socket: the writes are
/// synchronous too. <see cref="TrySend"/> sends only what the socket takes without waiting, so a caller's thread never
/// blocks on a peer that reads slowly; <see cref="Send"/> waits, for a thread that may, and fails past the send
/// timeout, which ends the connection like any other write failure.
/// </summary>
public sealed class SidecarSocket : IDisposable
{
    private const int InitialReceiveBytes = 64 * 1024;

    // A Unix stream socket polls writable while at most a quarter of its send buffer (about 208 KB on Linux) is in use,
    // so a send of this much after such a poll fits without waiting.
    private const int ChunkBytes = 32 * 1024;

    private readonly ArrayBufferWriter<byte> _output = new(4096);
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(InitialReceiveBytes);
    private int _start;
    private int _end;
    // How much of the output the socket took already (TrySend may stop part-way).
    private int _sent;

    /// <summary>Takes <paramref name="socket"/>, connected and never used asynchronously; disposing this disposes it.</summary>
    public SidecarSocket(Socket socket, TimeSpan sendTimeout, TimeSpan? receiveTimeout = null)
    {
        Socket = socket;
        socket.SendTimeout = (int)sendTimeout.TotalMilliseconds;
        if (receiveTimeout is { } timeout)
        {
            socket.ReceiveTimeout = (int)timeout.TotalMilliseconds;
        }
    }

    public Socket Socket { get; }

    /// <summary>What was received and not consumed yet: whole frames, perhaps followed by part of one.</summary>
    public ReadOnlySequence<byte> Buffered => new(_buffer, _start, _end - _start);

    /// <summary>Where frames are written before <see cref="Send"/>; one writer at a time (the caller's lock).</summary>
    public IBufferWriter<byte> Output => _output;

    /// <summary>
    /// Starts <paramref name="loop"/> on a background thread of its own, named <paramref name="name"/>: a reader that
    /// blocks in <see cref="Receive"/>. The task ends with what the loop returns or throws.
    /// </summary>
    public static Task<T> StartReader<T>(Func<T> loop, string name)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                done.SetResult(loop());
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        }, maxStackSize: 256 * 1024)
        {
            IsBackground = true,
            Name = name,
        };
        thread.Start();
        return done.Task;
    }

    /// <summary>
    /// Waits for more bytes and appends them to <see cref="Buffered"/>; false when the peer closed its side. Throws
    /// <see cref="SocketException"/> when the connection broke, or when a receive timeout given to the constructor
    /// passed with nothing received (<see cref="SocketError.TimedOut"/> or <see cref="SocketError.WouldBlock"/>: the
    /// connection is still whole, and the caller may receive again).
    /// </summary>
    public bool Receive()
    {
        if (_end == _buffer.Length)
        {
            MakeRoom();
        }
        var received = Socket.Receive(_buffer, _end, _buffer.Length - _end, SocketFlags.None);
        _end += received;
        return received > 0;
    }

    /// <summary>Drops what lies before <paramref name="rest"/>, the tail of <see cref="Buffered"/> not yet read.</summary>
    public void Consume(ReadOnlySequence<byte> rest)
    {
        _start = _end - (int)rest.Length;
        if (_start == _end)
        {
            _start = _end = 0;
        }
    }

    /// <summary>
    /// Sends what was written to <see cref="Output"/> as far as the socket takes it without waiting; true when all of it
    /// went, false when the rest waits for <see cref="Send"/> (or another try).
    /// </summary>
    public bool TrySend()
    {
        while (_sent < _output.WrittenCount)
        {
            if (!Socket.Poll(0, SelectMode.SelectWrite))
            {
                return false;
            }
            var chunk = _output.WrittenSpan[_sent..];
            _sent += Socket.Send(chunk[..Math.Min(chunk.Length, ChunkBytes)], SocketFlags.None);
        }
        _output.ResetWrittenCount();
        _sent = 0;
        return true;
    }

    /// <summary>Sends everything written to <see cref="Output"/> and not sent yet, waiting while the socket is full.</summary>
    public void Send()
    {
        while (_sent < _output.WrittenCount)
        {
            _sent += Socket.Send(_output.WrittenSpan[_sent..], SocketFlags.None);
        }
        _output.ResetWrittenCount();
        _sent = 0;
    }

    // The buffer is full: the unread part moves to its start, or, when it fills the buffer (one frame larger than the
    // buffer), into one twice as large. A frame is at most MaxBodyBytes, which TryReadFrame checks before the buffer grows
    // past it.
    private void MakeRoom()
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
            return;
        }
        var larger = ArrayPool<byte>.Shared.Rent(_buffer.Length * 2);
        Buffer.BlockCopy(_buffer, 0, larger, 0, _end);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }

    /// <summary>Closes the socket and returns the buffer; only once the reader thread has ended.</summary>
    public void Dispose()
    {
        Socket.Dispose();
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
