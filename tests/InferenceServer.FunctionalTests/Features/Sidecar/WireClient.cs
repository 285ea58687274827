using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using InferenceServer.Core.Features.Sidecar;

namespace InferenceServer.FunctionalTests.Features.Sidecar;

/// <summary>
/// A bare client of the sidecar's wire for the tests: one Unix socket connection, frames written with the shared
/// <see cref="SidecarMessages"/> (or raw bytes, for malformed ones) and read back one at a time.
/// </summary>
internal sealed class WireClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly PipeReader _input;

    private WireClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _input = PipeReader.Create(_stream);
    }

    public static async Task<WireClient> ConnectAsync(string socketPath)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath));
        return new WireClient(socket);
    }

    /// <summary>Writes what <paramref name="write"/> writes (whole frames, or any bytes) in one send.</summary>
    public async Task SendAsync(Action<IBufferWriter<byte>> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        write(buffer);
        await _stream.WriteAsync(buffer.WrittenMemory);
    }

    /// <summary>The next frame's body; null when the sidecar closed the connection.</summary>
    public async Task<byte[]?> ReceiveAsync(TimeSpan? patience = null)
    {
        using var timeout = new CancellationTokenSource(patience ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var result = await _input.ReadAsync(timeout.Token);
            var buffer = result.Buffer;
            if (SidecarFrames.TryReadFrame(ref buffer, out var body))
            {
                var bytes = body.ToArray();
                _input.AdvanceTo(buffer.Start);
                return bytes;
            }
            _input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                return null;
            }
        }
    }

    /// <summary>Sends one lookup and waits for its answer.</summary>
    public async Task<LookupAnswer> LookupAsync(uint id, string[] fields, string[] keys, uint timeoutMilliseconds = 1000, string view = "income")
    {
        await SendAsync(o => SidecarMessages.WriteLookup(o, id, timeoutMilliseconds, view, fields, keys));
        var answer = LookupAnswer.Read(await ReceiveAsync() ?? throw new InvalidOperationException("the sidecar closed the connection"));
        Assert.Equal(id, answer.Id);
        return answer;
    }

    public async ValueTask DisposeAsync()
    {
        await _input.CompleteAsync();
        await _stream.DisposeAsync();
        _socket.Dispose();
    }
}
