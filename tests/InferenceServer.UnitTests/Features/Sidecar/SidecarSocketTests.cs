using System.Buffers;
using System.Net.Sockets;
using InferenceServer.Core.Features.Sidecar;

namespace InferenceServer.UnitTests.Features.Sidecar;

/// <summary>
/// The blocking socket both ends of a sidecar connection read and write through, over a real Unix socket pair: frames
/// that arrive in pieces or are larger than the buffer come out whole, a receive timeout leaves the connection usable,
/// the peer's close ends the reads, and the descriptor stays blocking (the point of it).
/// </summary>
public sealed class SidecarSocketTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly string _folder = Directory.CreateTempSubdirectory("sidecar-socket-").FullName;
    private readonly SidecarSocket _near;
    private readonly SidecarSocket _far;

    public SidecarSocketTests()
    {
        var path = Path.Combine(_folder, "s.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        client.Connect(new UnixDomainSocketEndPoint(path));
        _near = new SidecarSocket(client, Patience);
        _far = new SidecarSocket(listener.Accept(), Patience, TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task Frames_sent_in_pieces_and_larger_than_the_buffer_are_read_whole_on_the_reader_thread()
    {
        // 1 byte, 200 KB (over the 64 KB the buffer starts with), and 3 bytes, each with its own pattern.
        byte[][] bodies = [[7], [.. Enumerable.Range(0, 200_000).Select(i => (byte)(i % 251))], [1, 2, 3]];
        var reading = SidecarSocket.StartReader(() =>
        {
            var received = new List<byte[]>();
            while (received.Count < bodies.Length && _far.Receive())
            {
                var buffer = _far.Buffered;
                while (SidecarFrames.TryReadFrame(ref buffer, out var body))
                {
                    received.Add(body.ToArray());
                }
                _far.Consume(buffer);
            }
            return (received, Environment.CurrentManagedThreadId);
        }, "test reader");

        var written = new ArrayBufferWriter<byte>();
        foreach (var body in bodies)
        {
            SidecarFrames.WriteFrame(written, body);
        }
        // The first 5 bytes alone (a whole 1-byte frame), then part of the next frame's header and body, then the rest
        // through the output: the reader sees the frames arrive in pieces.
        var all = written.WrittenMemory.ToArray();
        _near.Socket.Send(all.AsSpan(0, 5));
        _near.Socket.Send(all.AsSpan(5, 10));
        _near.Output.Write(all.AsSpan(15));
        _near.Send();

        var (frames, thread) = await reading.WaitAsync(Patience);
        Assert.Equal(bodies, frames);
        Assert.NotEqual(Environment.CurrentManagedThreadId, thread);
    }

    [Fact]
    public void A_receive_that_times_out_leaves_the_connection_usable_and_the_peer_s_close_ends_it()
    {
        var timedOut = Assert.Throws<SocketException>(() => _far.Receive());
        Assert.True(timedOut.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock, $"got {timedOut.SocketErrorCode}");

        SidecarFrames.WriteFrame(_near.Output, [42]);
        _near.Send();
        Assert.True(_far.Receive());
        var buffer = _far.Buffered;
        Assert.True(SidecarFrames.TryReadFrame(ref buffer, out var body));
        Assert.Equal([42], body.ToArray());
        _far.Consume(buffer);
        Assert.True(_far.Buffered.IsEmpty);

        _near.Socket.Shutdown(SocketShutdown.Send);
        Assert.False(_far.Receive());
    }

    [Fact]
    public void The_descriptor_stays_blocking_so_the_kernel_wakes_the_reader_itself()
    {
        SidecarFrames.WriteFrame(_near.Output, [1]);
        _near.Send();
        Assert.True(_far.Receive());

        foreach (var socket in new[] { _near.Socket, _far.Socket })
        {
            // O_NONBLOCK (04000 octal) in the descriptor's flags as Linux reports them.
            var flags = File.ReadLines($"/proc/self/fdinfo/{socket.Handle}").Single(line => line.StartsWith("flags:", StringComparison.Ordinal));
            var value = Convert.ToInt32(flags["flags:".Length..].Trim(), 8);
            Assert.Equal(0, value & 0x800);
        }
    }

    public void Dispose()
    {
        _near.Dispose();
        _far.Dispose();
        Directory.Delete(_folder, recursive: true);
    }
}
