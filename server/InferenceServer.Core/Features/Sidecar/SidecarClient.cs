using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace InferenceServer.Core.Features.Sidecar;

/// <summary>
/// The server's side of the feature sidecar: a few persistent connections to its Unix socket (each read by a thread of
/// its own, see <see cref="SidecarSocket"/>), the first one up carrying every lookup multiplexed by id, answered in any
/// order, and the others standing by. Each lookup carries its deadline;
/// at most <see cref="FeatureSidecarOptions.MaxPending"/> are pending, and one beyond is refused at once as overloaded.
/// A connection that breaks fails its lookups at once naming the sidecar and the reason, and reconnects by itself with
/// a backoff; while no connection is up, lookups fail at once the same way, so a dead sidecar never holds a request.
/// </summary>
public sealed class SidecarClient : IAsyncDisposable
{
    private readonly FeatureSidecarOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SidecarConnection?[] _connections;
    private readonly Task[] _runs;
    private readonly CancellationTokenSource _stopping = new();
    // Completed once every connection made its first attempt, so lookups at startup wait for it rather than fail.
    private readonly TaskCompletionSource _firstAttempts = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _attempted;
    private int _pending;
    private int _connected;
    private string _lastError = "no connection was made yet";

    /// <summary>Connects to the sidecar <paramref name="options"/> name, in the background, and keeps connected.</summary>
    public SidecarClient(FeatureSidecarOptions options, TimeProvider time, ILogger<SidecarClient> logger)
    {
        if (!options.Enabled)
        {
            throw new ArgumentException("the feature sidecar client needs a socket path", nameof(options));
        }
        _options = options;
        _time = time;
        _logger = logger;
        _connections = new SidecarConnection?[options.Connections];
        _runs = new Task[options.Connections];
        for (var i = 0; i < _runs.Length; i++)
        {
            var index = i;
            _runs[i] = Task.Run(() => KeepConnectedAsync(index));
        }
    }

    /// <summary>The sidecar as errors name it: <c>unix:/run/feature-sidecar.sock</c>.</summary>
    public string Address => _options.Address;

    /// <summary>How many connections are up now.</summary>
    public int Connected => Volatile.Read(ref _connected);

    /// <summary>Raised with <see cref="Connected"/> whenever a connection comes up or goes down.</summary>
    public event Action<int>? ConnectionsChanged;

    /// <summary>
    /// Asks the store, through the sidecar, for <paramref name="fields"/> of each of <paramref name="keys"/> of view
    /// <paramref name="view"/>, within <paramref name="timeout"/>. Never throws for the sidecar's or the store's
    /// failures: the result's status and message say what happened. Throws only when <paramref name="cancellationToken"/>
    /// is cancelled. <paramref name="fields"/> should be the same instance for every lookup of a view: lookups queued
    /// together with the same one share a frame.
    /// </summary>
    public async ValueTask<SidecarLookupResult> LookupAsync(string view, IReadOnlyList<string> fields, string[] keys, TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _pending) > _options.MaxPending)
        {
            Interlocked.Decrement(ref _pending);
            return new SidecarLookupResult(SidecarLookupStatus.Overloaded,
                $"the feature sidecar at {Address} has {_options.MaxPending} lookups pending, as many as this server allows (FeatureSidecar:MaxPending)");
        }
        try
        {
            if (Volatile.Read(ref _connected) == 0 && !_firstAttempts.Task.IsCompleted)
            {
                await _firstAttempts.Task.WaitAsync(timeout, _time, cancellationToken).ConfigureAwait(false);
            }
            var lookup = new PendingLookup(view, fields, keys, _time.GetTimestamp() + (long)(timeout.TotalSeconds * _time.TimestampFrequency));
            if (!TryEnqueue(lookup))
            {
                return new SidecarLookupResult(SidecarLookupStatus.Unreachable, $"the feature sidecar at {Address} is not reachable: {Volatile.Read(ref _lastError)}");
            }
            try
            {
                return await lookup.Task.WaitAsync(timeout, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                lookup.Abandon();
                return new SidecarLookupResult(SidecarLookupStatus.DeadlineExceeded,
                    $"the feature sidecar at {Address} did not answer within {timeout.TotalMilliseconds:0.###} ms");
            }
            catch (OperationCanceledException)
            {
                lookup.Abandon();
                throw;
            }
        }
        catch (TimeoutException)
        {
            return new SidecarLookupResult(SidecarLookupStatus.Unreachable, $"the feature sidecar at {Address} is not reachable: {Volatile.Read(ref _lastError)}");
        }
        finally
        {
            Interlocked.Decrement(ref _pending);
        }
    }

    // The first connection that is up takes every lookup; the others stand by for when it breaks. Lookups spread over
    // several connections coalesced less (each batches only what queues behind its own frames in flight) and woke
    // twice the reader threads on both ends: at concurrency 32 one connection cost the sidecar about 30% less CPU per
    // request (RESULTS.md, issue 14, stop 31).
    private bool TryEnqueue(PendingLookup lookup)
    {
        foreach (ref var slot in _connections.AsSpan())
        {
            if (Volatile.Read(ref slot) is { } connection && connection.TryEnqueue(lookup))
            {
                return true;
            }
        }
        return false;
    }

    private async Task KeepConnectedAsync(int index)
    {
        var backoff = _options.ReconnectMinMilliseconds;
        var stopping = _stopping.Token;
        var attempted = false;
        while (!stopping.IsCancellationRequested)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                // Synchronous: one asynchronous call would make the socket non-blocking for good (see SidecarSocket). A
                // connect to a Unix socket does not wait for the network: it succeeds or fails at once.
                socket.Connect(new UnixDomainSocketEndPoint(_options.Path!));
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                socket.Dispose();
                Volatile.Write(ref _lastError, e.Message);
                if (backoff == _options.ReconnectMinMilliseconds)
                {
                    // Once per outage, not once per attempt.
                    SidecarClientLog.Unreachable(_logger, Address, e.Message, _options.ReconnectMaxMilliseconds);
                }
                FirstAttemptDone();
                if (!await DelayAsync(backoff, stopping).ConfigureAwait(false))
                {
                    break;
                }
                backoff = Math.Min(backoff * 2, _options.ReconnectMaxMilliseconds);
                continue;
            }
            backoff = _options.ReconnectMinMilliseconds;
            using var connection = new SidecarConnection(socket, Address, index, _time, _logger);
            Volatile.Write(ref _connections[index], connection);
            // Counted outside the event's invocation: with no handler, ?. would skip the argument too.
            var up = Interlocked.Increment(ref _connected);
            ConnectionsChanged?.Invoke(up);
            SidecarClientLog.Connected(_logger, Address, index);
            FirstAttemptDone();
            string reason;
            try
            {
                reason = await connection.RunAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // A defect of this side while the connection ended: this loop must go on, or the connection would stay
                // listed with nobody to reconnect it, and nothing logged. Lookups it still held stop at their deadlines.
                SidecarClientLog.Failed(_logger, e, Address, index);
                reason = SidecarConnection.InternalFailure;
            }
            Volatile.Write(ref _connections[index], null);
            Volatile.Write(ref _lastError, reason);
            var left = Interlocked.Decrement(ref _connected);
            ConnectionsChanged?.Invoke(left);
            if (!stopping.IsCancellationRequested)
            {
                SidecarClientLog.Lost(_logger, Address, index, reason);
                await DelayAsync(backoff, stopping).ConfigureAwait(false);
            }
        }
        FirstAttemptDone();

        void FirstAttemptDone()
        {
            if (!attempted)
            {
                attempted = true;
                if (Interlocked.Increment(ref _attempted) == _connections.Length)
                {
                    _firstAttempts.TrySetResult();
                }
            }
        }
    }

    private async Task<bool> DelayAsync(int milliseconds, CancellationToken stopping)
    {
        try
        {
            await Task.Delay(TimeSpan.FromMilliseconds(milliseconds), _time, stopping).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_runs).ConfigureAwait(false);
        _stopping.Dispose();
    }
}
