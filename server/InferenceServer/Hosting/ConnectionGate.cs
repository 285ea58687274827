using System.Globalization;
using InferenceServer.Protocols.Grpc;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace InferenceServer.Hosting;

/// <summary>
/// Keeps the server's connections below the process's descriptor limit: past <see cref="Limit"/> connections (every
/// endpoint together) a new one is closed as soon as it is accepted, while those already open are served as before; idle
/// keep-alive connections are closed after <c>Server:KeepAliveTimeoutSeconds</c> and <see cref="KeepAliveNotice.Grace"/>
/// (clients are told the timeout, <see cref="KeepAliveNotice"/>), and HTTP/2 connections whose peer
/// stopped answering are found by keep-alive pings. A process that runs out of descriptors does not fail one request:
/// the runtime aborts it.
/// </summary>
/// <remarks>
/// Not Kestrel's <c>Limits.MaxConcurrentConnections</c>: Kestrel keeps that count per endpoint, so the REST, gRPC and
/// metrics endpoints together could hold three times the limit, and it logs a warning for every connection it refuses,
/// so a flood of connections becomes a flood of log lines. The gate counts all endpoints together and logs a burst of
/// refusals once when it starts and once when it is over.
/// </remarks>
internal sealed partial class ConnectionGate
{
    /// <summary>A burst of refusals is over once this long has passed without one.</summary>
    internal static readonly TimeSpan QuietPeriod = TimeSpan.FromSeconds(10);

    private readonly ServerOptions _server;
    private readonly GrpcProtocolOptions _grpc;
    private readonly TimeProvider _time;
    private readonly ILogger<ConnectionGate> _logger;
    private long _open;
    private long _refused;
    private long _lastRefusal;
    private int _refusing;
    private TaskCompletionSource? _allClosed;

    public ConnectionGate(IOptions<ServerOptions> server, IOptions<GrpcProtocolOptions> grpc, TimeProvider time, ILogger<ConnectionGate> logger)
    {
        _server = server.Value;
        _grpc = grpc.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>The most connections open at once, over every endpoint; set by <see cref="Configure"/>.</summary>
    public long Limit { get; private set; } = long.MaxValue;

    /// <summary>
    /// The default limit for a process allowed <paramref name="descriptors"/> descriptors, <paramref name="open"/> of them
    /// open already: what is left after a reserve (an eighth of the limit, at least 128) for what else needs descriptors
    /// while connections are at the limit: the assemblies loaded after the endpoints are set up (the runtime holds about
    /// two descriptors per assembly, some 200 for the whole server), model files being loaded, uploads written, log
    /// files, and the connections Kestrel accepts only to close them. No limit where the descriptor limit is unknown.
    /// </summary>
    public static long DefaultLimit(long? descriptors, int open) =>
        descriptors is { } limit ? Math.Max(1, limit - open - Math.Max(128, limit / 8)) : long.MaxValue;

    /// <summary>Sets Kestrel's keep-alive limits and puts the gate in front of every endpoint added after it.</summary>
    public void Configure(KestrelServerOptions kestrel)
    {
        kestrel.Limits.KeepAliveTimeout = KeepAliveNotice.KeptFor(_server);
        kestrel.Limits.Http2.KeepAlivePingDelay = TimeSpan.FromMilliseconds(_grpc.KeepAliveTimeMilliseconds);
        kestrel.Limits.Http2.KeepAlivePingTimeout = TimeSpan.FromMilliseconds(_grpc.KeepAliveTimeoutMilliseconds);
        if (_server.MaxConnections > 0)
        {
            Limit = _server.MaxConnections;
            LogLimit(_logger, Limit, "Server:MaxConnections");
        }
        else
        {
            var descriptors = DescriptorLimit.Current();
            var open = DescriptorLimit.Open();
            Limit = DefaultLimit(descriptors, open);
            if (descriptors is { } known)
            {
                LogLimit(_logger, Limit, string.Create(CultureInfo.InvariantCulture, $"derived from the descriptor limit of {known} with {open} open; set Server:MaxConnections to change it"));
            }
        }
        // Installed even without a limit: the shutdown drain waits on the count.
        kestrel.ConfigureEndpointDefaults(listen => listen.Use(next => connection => AdmitAsync(connection, next)));
    }

    /// <summary>Completes once no connection is open (at once if none is).</summary>
    public Task WhenAllClosedAsync()
    {
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _allClosed, waiter);
        if (Interlocked.Read(ref _open) == 0)
        {
            waiter.TrySetResult();
        }
        return waiter.Task;
    }

    private async Task AdmitAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        if (Interlocked.Increment(ref _open) > Limit)
        {
            Interlocked.Decrement(ref _open);
            Refuse();
            // Returning without serving it: Kestrel closes the connection.
            return;
        }
        try
        {
            EndBurstIfQuiet();
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            if (Interlocked.Decrement(ref _open) == 0)
            {
                Volatile.Read(ref _allClosed)?.TrySetResult();
            }
        }
    }

    private void Refuse()
    {
        Interlocked.Increment(ref _refused);
        Volatile.Write(ref _lastRefusal, _time.GetTimestamp());
        if (Interlocked.CompareExchange(ref _refusing, 1, 0) == 0)
        {
            LogRefusing(_logger, Limit);
        }
    }

    private void EndBurstIfQuiet()
    {
        if (Volatile.Read(ref _refusing) == 1
            && _time.GetElapsedTime(Volatile.Read(ref _lastRefusal)) >= QuietPeriod
            && Interlocked.CompareExchange(ref _refusing, 0, 1) == 1)
        {
            LogAccepting(_logger, Interlocked.Exchange(ref _refused, 0));
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Connections: at most {Limit} open at once over all endpoints ({Source})")]
    private static partial void LogLimit(ILogger logger, long limit, string source);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refusing new connections: {Limit} are open, the limit (Server:MaxConnections); open connections are still served, and idle ones close after the keep-alive timeout")]
    private static partial void LogRefusing(ILogger logger, long limit);

    [LoggerMessage(Level = LogLevel.Information, Message = "Accepting connections again; {Refused} were refused at the connection limit")]
    private static partial void LogAccepting(ILogger logger, long refused);
}
