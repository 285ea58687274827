using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using InferenceServer.Core.Features.Sidecar;

namespace InferenceServer.Tests.Common;

/// <summary>
/// A stand-in for the feature sidecar that speaks its wire (the shared <see cref="SidecarFrames"/> and
/// <see cref="SidecarMessages"/>) on a Unix socket in a test's temp folder: it answers each lookup with what the test's
/// <c>reply</c> says, or holds it (reply null) for the test to answer later, in any order. It can stop reading (so the
/// client's writes back up), and be stopped and started again on the same path.
/// </summary>
internal sealed class FakeSidecar : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly Func<SidecarLookup, FakeReply?> _reply;
    private readonly List<Socket> _connections = [];
    private readonly List<SidecarLookup> _received = [];
    private readonly Channel<HeldLookup> _held = Channel.CreateUnbounded<HeldLookup>();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _accepting;
    private TaskCompletionSource _readGate = CompletedGate();

    private FakeSidecar(string path, Func<SidecarLookup, FakeReply?> reply)
    {
        Path = path;
        _reply = reply;
        File.Delete(path);
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(path));
        _listener.Listen(16);
        _accepting = AcceptAsync();
    }

    /// <summary>The socket's path.</summary>
    public string Path { get; }

    /// <summary>A fresh socket path in the temp folder (short: a Unix socket path has at most 107 characters).</summary>
    public static string NewPath() => System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"fs-{Guid.NewGuid():N}.sock");

    /// <summary>Listens on <paramref name="path"/>; <paramref name="reply"/> answers each lookup, or returns null to hold it.</summary>
    public static FakeSidecar Start(string path, Func<SidecarLookup, FakeReply?> reply) => new(path, reply);

    /// <summary>Every lookup frame received so far, in order.</summary>
    public IReadOnlyList<SidecarLookup> Received
    {
        get
        {
            lock (_received)
            {
                return [.. _received];
            }
        }
    }

    /// <summary>The next lookup that was held (its reply was null), to answer with <see cref="HeldLookup.AnswerAsync"/>.</summary>
    public ValueTask<HeldLookup> NextHeldAsync() => _held.Reader.ReadAsync();

    /// <summary>Stops reading from every connection (what the client writes backs up in the socket), until <see cref="ResumeReading"/>.</summary>
    public void PauseReading() => Interlocked.Exchange(ref _readGate, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>Reads again.</summary>
    public void ResumeReading() => _readGate.TrySetResult();

    /// <summary>A reply with one row per key: each row's stored_at and values (null: the field is absent).</summary>
    public static FakeReply Rows(params (long StoredAt, string?[] Values)[] rows) => new(SidecarStatus.Ok, "", rows);

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var socket = await _listener.AcceptAsync(_stopping.Token);
                lock (_connections)
                {
                    _connections.Add(socket);
                }
                _ = ServeAsync(socket);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        var stream = new NetworkStream(socket, ownsSocket: true);
        var input = PipeReader.Create(stream);
        var writeLock = new SemaphoreSlim(1, 1);
        try
        {
            while (true)
            {
                await _readGate.Task.WaitAsync(_stopping.Token);
                var read = await input.ReadAsync(_stopping.Token);
                var buffer = read.Buffer;
                while (SidecarFrames.TryReadFrame(ref buffer, out var body))
                {
                    var lookup = SidecarMessages.ReadLookup(body);
                    lock (_received)
                    {
                        _received.Add(lookup);
                    }
                    var held = new HeldLookup(lookup, stream, writeLock);
                    if (_reply(lookup) is { } reply)
                    {
                        await held.AnswerAsync(reply);
                    }
                    else
                    {
                        _held.Writer.TryWrite(held);
                    }
                }
                input.AdvanceTo(buffer.Start, buffer.End);
                if (read.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // The client or the test closed the connection.
        }
        finally
        {
            await stream.DisposeAsync();
        }
    }

    private static TaskCompletionSource CompletedGate()
    {
        var gate = new TaskCompletionSource();
        gate.SetResult();
        return gate;
    }

    /// <summary>Stops listening and closes every connection, as a sidecar that dies does; the socket file goes.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Dispose();
        lock (_connections)
        {
            foreach (var connection in _connections)
            {
                connection.Dispose();
            }
        }
        await _accepting;
        File.Delete(Path);
    }
}
