using System.Globalization;
using InferenceServer.Core.Lifecycle;
using InferenceServer.Core.Residency;
using InferenceServer.Core.Scheduling;

namespace InferenceServer.Hosting;

/// <summary>
/// The <c>Server</c> section: the model lifecycle's settings (Core's <see cref="ModelLifecycleOptions"/>) and the host's
/// own, bound together once.
/// </summary>
internal sealed class ServerOptions : ModelLifecycleOptions
{
    /// <summary><c>--id</c>: the server's name in server metadata.</summary>
    public string Id { get; set; } = "inference-server";

    /// <summary><c>--exit-timeout-secs</c>: how long in-flight requests may take to finish on SIGTERM.</summary>
    public int ShutdownTimeoutSeconds { get; set; } = 30;

    /// <summary>
    /// <c>--max-connections</c>: the most connections open at once over every endpoint; past it new connections are
    /// closed as they arrive and those open are still served. 0 (the default): derived from the process's descriptor
    /// limit (<see cref="ConnectionGate.DefaultLimit"/>), so connections can never use up the descriptors the process needs.
    /// </summary>
    public long MaxConnections { get; set; }

    /// <summary>
    /// <c>--keepalive-timeout-secs</c>: how long a connection may stay idle between requests (HTTP/1.1) or without a call
    /// (HTTP/2) before the server closes it. Shorter than Kestrel's 130 s, so idle sockets do not pile up. HTTP/1.1
    /// clients are told it, and the server closes <see cref="KeepAliveNotice.Grace"/> after it (<see cref="KeepAliveNotice"/>).
    /// </summary>
    public int KeepAliveTimeoutSeconds { get; set; } = 30;

    /// <summary>
    /// <c>--max-body-bytes-in-flight</c>: the request-body bytes (REST bodies, gRPC messages) the server holds at once
    /// over every connection. A request that would go past it waits up to <see cref="RequestBodyWaitMilliseconds"/> for
    /// others to finish, then gets 503 (REST, with <c>Retry-After</c>) or RESOURCE_EXHAUSTED (gRPC). Twice the largest
    /// body by default: two bodies of the largest size fit at once, a third waits.
    /// </summary>
    public long MaxRequestBodyBytesInFlight { get; set; } = 512L * 1024 * 1024;

    /// <summary><c>--body-wait-ms</c>: how long a request body waits for room under <see cref="MaxRequestBodyBytesInFlight"/>.</summary>
    public int RequestBodyWaitMilliseconds { get; set; } = 1000;

    /// <summary>
    /// <c>--shutdown-drain-ms</c>: on SIGTERM, how long the server goes on answering before it stops listening, closing
    /// each HTTP/1.1 connection after its next answer (<see cref="ShutdownDrain"/>), so a request sent on a keep-alive
    /// connection just then is answered, not lost; it ends early once no connection is left. 0: stop at once.
    /// </summary>
    public int ShutdownDrainMilliseconds { get; set; } = 2000;

    /// <summary>
    /// <c>--request-thread-nice</c>: how far the threads that answer requests (HTTP and gRPC: reading, refusing, writing)
    /// lower their own priority, in nice steps, once each, while the threads that run models keep the priority the
    /// process started with (<see cref="ThreadNice"/>). Under overload a model's run then goes first on a shared core
    /// instead of being split with the refusals. Linux only; 0 turns it off.
    /// </summary>
    public int RequestThreadNice { get; set; } = DefaultRequestThreadNice;

    /// <summary>The default of <see cref="RequestThreadNice"/>.</summary>
    public const int DefaultRequestThreadNice = 0;

    /// <summary>glibc's mmap threshold, fixed so an unloaded model's memory goes back to the OS (<see cref="NativeHeap"/>).</summary>
    public int NativeMmapThresholdBytes { get; set; } = NativeHeap.DefaultMmapThresholdBytes;

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        if (Id.Length == 0)
        {
            throw new ArgumentException("Server:Id is empty; expected the server's name");
        }
        if (ShutdownTimeoutSeconds < 0)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Server:ShutdownTimeoutSeconds {ShutdownTimeoutSeconds} is not valid; expected 0 or more"));
        }
        if (MaxConnections < 0)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Server:MaxConnections {MaxConnections} is not valid; expected 0 (derived from the descriptor limit) or more"));
        }
        if (KeepAliveTimeoutSeconds < 1)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Server:KeepAliveTimeoutSeconds {KeepAliveTimeoutSeconds} is not valid; expected 1 or more"));
        }
        if (MaxRequestBodyBytesInFlight < 1)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Server:MaxRequestBodyBytesInFlight {MaxRequestBodyBytesInFlight} is not valid; expected 1 or more"));
        }
        if (RequestBodyWaitMilliseconds < 0)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Server:RequestBodyWaitMilliseconds {RequestBodyWaitMilliseconds} is not valid; expected 0 or more"));
        }
        if (ShutdownDrainMilliseconds < 0)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Server:ShutdownDrainMilliseconds {ShutdownDrainMilliseconds} is not valid; expected 0 or more"));
        }
        if (RequestThreadNice is < 0 or > 19)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Server:RequestThreadNice {RequestThreadNice} is not valid; expected 0 (off) to 19"));
        }
        if (NativeMmapThresholdBytes < 0)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Server:NativeMmapThresholdBytes {NativeMmapThresholdBytes} is not valid; expected 0 or more"));
        }
    }
}
