using System.Collections.Concurrent;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace InferenceServer.FeatureSidecar.Serving;

/// <summary>
/// The listener on the Unix socket: accepts connections until stopped, then stops reading from every connection,
/// lets the lookups already started be answered (bounded by <see cref="DrainTimeout"/>), and removes the socket file.
/// </summary>
internal sealed class SidecarServer : IDisposable
{
    /// <summary>How long a stop waits for in-flight lookups (each has its own deadline, normally milliseconds).</summary>
    public static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(30);

    private readonly Socket _listener;
    private readonly string _socketPath;
    private readonly StoreGuard _store;
    private readonly SidecarMetrics _metrics;
    private readonly ILogger _logger;
    private readonly int _maxInFlight;
    private readonly ConcurrentDictionary<SidecarConnection, Task> _connections = new();

    private SidecarServer(Socket listener, string socketPath, StoreGuard store, SidecarMetrics metrics, ILogger logger, int maxInFlight)
    {
        _listener = listener;
        _socketPath = socketPath;
        _store = store;
        _metrics = metrics;
        _logger = logger;
        _maxInFlight = maxInFlight;
    }

    /// <summary>
    /// Listens on <paramref name="socketPath"/>. A socket file left behind by a sidecar that is gone is replaced; one that
    /// a live process still answers on, or a file that is not a socket, is an error (<see cref="StartupException"/>).
    /// </summary>
    public static SidecarServer Listen(string socketPath, StoreGuard store, SidecarMetrics metrics, ILogger logger, int maxInFlight)
    {
        var folder = Path.GetDirectoryName(socketPath);
        if (folder is not null && !Directory.Exists(folder))
        {
            throw new StartupException($"cannot listen on unix:{socketPath}: the folder {folder} does not exist");
        }
        var endpoint = new UnixDomainSocketEndPoint(socketPath);
        if (File.Exists(socketPath))
        {
            RemoveStaleSocket(socketPath, endpoint);
            SidecarLog.ReplacedStaleSocket(logger, socketPath);
        }
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(endpoint);
            listener.Listen(512);
        }
        catch (SocketException e)
        {
            listener.Dispose();
            throw new StartupException($"cannot listen on unix:{socketPath}: {e.Message}");
        }
        SidecarLog.Listening(logger, socketPath, store.Address.ToString());
        return new SidecarServer(listener, socketPath, store, metrics, logger, maxInFlight);
    }

    private static void RemoveStaleSocket(string socketPath, UnixDomainSocketEndPoint endpoint)
    {
        using (var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            try
            {
                probe.Connect(endpoint);
                throw new StartupException($"another process is serving on unix:{socketPath}; stop it or choose another --socket");
            }
            catch (SocketException)
            {
                // Nobody listening: a socket left by a sidecar that was killed, or not a socket at all (checked next).
            }
        }
        try
        {
            // Opening a socket file fails (ENXIO); opening a regular file succeeds, and that is not ours to delete.
            using var file = new FileStream(socketPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
        }
        catch (IOException)
        {
            File.Delete(socketPath);
            return;
        }
        catch (UnauthorizedAccessException e)
        {
            throw new StartupException($"cannot replace unix:{socketPath}: {e.Message}");
        }
        throw new StartupException($"{socketPath} exists and is not a socket; remove it or choose another --socket");
    }

    /// <summary>Accepts connections until <paramref name="stop"/>; then drains them and removes the socket file.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (SocketException e)
            {
                SidecarLog.AcceptFailed(_logger, e.Message);
                continue;
            }
            var connection = new SidecarConnection(client, _store, _metrics, _logger, _maxInFlight);
            var served = connection.RunAsync();
            _connections[connection] = served;
            _ = served.ContinueWith(static (_, state) =>
            {
                var (connections, connection) = ((ConcurrentDictionary<SidecarConnection, Task>, SidecarConnection))state!;
                connections.TryRemove(connection, out var _);
            }, (_connections, connection), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        // New clients fail at once (no socket file) while the old ones finish.
        _listener.Dispose();
        File.Delete(_socketPath);
        SidecarLog.Stopping(_logger, _connections.Count);
        foreach (var connection in _connections.Keys)
        {
            connection.Stop();
        }
        try
        {
            await Task.WhenAll(_connections.Values).WaitAsync(DrainTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            SidecarLog.DrainTimedOut(_logger, _connections.Count, (int)DrainTimeout.TotalSeconds);
        }
        SidecarLog.Stopped(_logger, _socketPath);
    }

    public void Dispose() => _listener.Dispose();
}
