using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;

namespace InferenceServer.Core.Features.Sidecar;

/// <summary>
/// One end of a sidecar connection, read and written with blocking calls only, the reads on a thread of the
/// connection's own. On Linux, .NET turns a socket's descriptor non-blocking for good at its first asynchronous call;
/// from then on a receive waits for the runtime's epoll thread to see the data and hand it to a thread-pool thread:
/// two threads woken for every frame. A descriptor that stays blocking wakes the one thread that waits for it, directly
/// from the kernel; that thread waits in poll() for readable bytes, not in the receive (see <see cref="Receive"/>). At
/// low load those wake-ups are most of what a lookup costs over plain infer (RESULTS.md, issue 14), and a lookup
/// crosses the socket twice. So no asynchronous call may ever touch the socket: the writes are
/// synchronous too. <see cref="TrySend"/> sends only what the socket takes without waiting, so a caller's thread never
/// blocks on a peer that reads slowly; <see cref="Send"/> waits, for a thread that may, and fails past the send
/// timeout, which ends the connection like any other write failure. The bytes each way go through a
/// System.IO.Pipelines <see cref="Pipe"/> (pooled segments, frames read across them) that never pauses and never
/// schedules: both of its ends are driven here, synchronously, on the thread that receives or sends.
/// </summary>
public sealed class SidecarSocket : IDisposable
{
    // A Unix stream socket polls writable while at most a quarter of its send buffer (about 208 KB on Linux) is in use,
    // so a send of this much after such a poll fits without waiting.
    private const int ChunkBytes = 32 * 1024;

    // Never pauses a writer (the peer's frames are bounded by MaxBodyBytes and the lookups in flight by the peer's
    // own bounds) and runs nothing on another thread.
    private static readonly PipeOptions Synchronous = new(pauseWriterThreshold: 0, resumeWriterThreshold: 0,
        readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline, useSynchronizationContext: false);

    private readonly Pipe _input = new(Synchronous);
    private readonly Pipe _output = new(Synchronous);
    private ReadOnlySequence<byte> _received;
    private bool _holding;
    private bool _outputWritten;
    // -1: poll() waits for as long as it takes.
    private readonly int _receiveTimeoutMicroseconds = -1;

    /// <summary>Takes <paramref name="socket"/>, connected and never used asynchronously; disposing this disposes it.</summary>
    public SidecarSocket(Socket socket, TimeSpan sendTimeout, TimeSpan? receiveTimeout = null)
    {
        Socket = socket;
        socket.SendTimeout = (int)sendTimeout.TotalMilliseconds;
        if (receiveTimeout is { } timeout)
        {
            socket.ReceiveTimeout = (int)timeout.TotalMilliseconds;
            _receiveTimeoutMicroseconds = (int)Math.Min(timeout.Ticks / TimeSpan.TicksPerMicrosecond, int.MaxValue);
        }
    }

    public Socket Socket { get; }

    /// <summary>What was received and not consumed yet: whole frames, perhaps followed by part of one.</summary>
    public ReadOnlySequence<byte> Buffered => _received;

    /// <summary>Where frames are written before <see cref="Send"/>; one writer at a time (the caller's lock).</summary>
    public IBufferWriter<byte> Output
    {
        get
        {
            _outputWritten = true;
            return _output.Writer;
        }
    }

    /// <summary>
    /// Starts <paramref name="loop"/> on a background thread of its own, named <paramref name="name"/>: a reader that
    /// blocks in <see cref="Receive"/>. The task ends with what the loop returns or throws. The thread has the default
    /// stack: the callers' continuations run on it (a request's whole way to the model), not only the loop.
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
        })
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
        if (_holding)
        {
            // Everything buffered was looked at: what is left is part of a frame, wanting more bytes.
            _input.Reader.AdvanceTo(_received.Start, _received.End);
            _holding = false;
        }
        // Waits in poll() for bytes, not in the receive: on Linux a thread blocked in a Unix stream socket's receive is
        // also woken each time the peer reads what this side sent (the socket's "writable" wake-up reaches every waiter on
        // it), then sleeps again, an extra switch per frame each way; poll() for POLLIN ignores that wake-up.
        if (!Socket.Poll(_receiveTimeoutMicroseconds, SelectMode.SelectRead))
        {
            throw new SocketException((int)SocketError.TimedOut);
        }
        var memory = _input.Writer.GetMemory(4096);
        var received = Socket.Receive(memory.Span, SocketFlags.None);
        if (received == 0)
        {
            return false;
        }
        _input.Writer.Advance(received);
        // Completes at once: the pipe never pauses its writer.
        _ = _input.Writer.FlushAsync();
        _input.Reader.TryRead(out var result);
        _received = result.Buffer;
        _holding = true;
        return true;
    }

    /// <summary>Drops what lies before <paramref name="rest"/>, the tail of <see cref="Buffered"/> not yet read.</summary>
    public void Consume(ReadOnlySequence<byte> rest) => _received = rest;

    /// <summary>
    /// Sends what was written to <see cref="Output"/> as far as the socket takes it without waiting; true when all of it
    /// went, false when the rest waits for <see cref="Send"/> (or another try).
    /// </summary>
    public bool TrySend() => SendOutput(wait: false);

    /// <summary>Sends everything written to <see cref="Output"/> and not sent yet, waiting while the socket is full.</summary>
    public void Send() => SendOutput(wait: true);

    private bool SendOutput(bool wait)
    {
        if (_outputWritten)
        {
            // Completes at once: the pipe never pauses its writer.
            _ = _output.Writer.FlushAsync();
            _outputWritten = false;
        }
        if (!_output.Reader.TryRead(out var result))
        {
            return true;
        }
        var pending = result.Buffer;
        try
        {
            while (!pending.IsEmpty)
            {
                var segment = pending.First.Span;
                if (!wait)
                {
                    if (!Socket.Poll(0, SelectMode.SelectWrite))
                    {
                        return false;
                    }
                    segment = segment[..Math.Min(segment.Length, ChunkBytes)];
                }
                pending = pending.Slice(Socket.Send(segment, SocketFlags.None));
            }
            return true;
        }
        finally
        {
            _output.Reader.AdvanceTo(pending.Start);
        }
    }

    /// <summary>Closes the socket and returns the pipes' segments; only once the reader thread has ended.</summary>
    public void Dispose()
    {
        Socket.Dispose();
        _input.Writer.Complete();
        _input.Reader.Complete();
        _output.Writer.Complete();
        _output.Reader.Complete();
    }
}
