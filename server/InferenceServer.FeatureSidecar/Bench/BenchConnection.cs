using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net.Sockets;
using InferenceServer.Core.Features.Sidecar;

namespace InferenceServer.FeatureSidecar.Bench;

/// <summary>
/// One client connection of <c>bench</c>: lookups multiplexed by id, their answers matched as they come back in any
/// order by a read loop; sends serialized by a lock.
/// </summary>
internal sealed class BenchConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentDictionary<uint, TaskCompletionSource<SidecarStatus>> _pending = new();
    private readonly Task _reading;
    private uint _nextId;

    private BenchConnection(Socket socket)
    {
        _socket = socket;
        var stream = new NetworkStream(socket, ownsSocket: false);
        _input = PipeReader.Create(stream);
        _output = PipeWriter.Create(stream);
        _reading = ReadLoopAsync();
    }

    public static async Task<BenchConnection> ConnectAsync(string socketPath)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath)).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new BenchException($"cannot connect to the feature sidecar at unix:{socketPath}: {e.Message}");
        }
        return new BenchConnection(socket);
    }

    /// <summary>Sends one lookup and returns its answer's status.</summary>
    public async Task<SidecarStatus> LookupAsync(uint timeoutMilliseconds, string view, string[] fields, string[] keys)
    {
        var id = Interlocked.Increment(ref _nextId);
        var answer = new TaskCompletionSource<SidecarStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            SidecarMessages.WriteLookup(_output, id, timeoutMilliseconds, view, fields, keys);
            await _output.FlushAsync().ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
        return await answer.Task.ConfigureAwait(false);
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (true)
            {
                var result = await _input.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                while (SidecarFrames.TryReadFrame(ref buffer, out var body))
                {
                    Complete(body);
                }
                _input.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
            Fail(new BenchException("the feature sidecar closed the connection"));
        }
        catch (Exception e) when (e is IOException or SocketException or SidecarProtocolException or ObjectDisposedException)
        {
            Fail(new BenchException($"the connection to the feature sidecar failed: {e.Message}"));
        }
    }

    private void Complete(in ReadOnlySequence<byte> body)
    {
        var answer = new SidecarLookupResultReader(body);
        if (_pending.TryRemove(answer.Id, out var waiting))
        {
            waiting.TrySetResult(answer.Status);
        }
    }

    private void Fail(Exception reason)
    {
        foreach (var id in _pending.Keys)
        {
            if (_pending.TryRemove(id, out var waiting))
            {
                waiting.TrySetException(reason);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _output.CompleteAsync().ConfigureAwait(false);
        _socket.Shutdown(SocketShutdown.Both);
        await _reading.ConfigureAwait(false);
        await _input.CompleteAsync().ConfigureAwait(false);
        _socket.Dispose();
    }
}
