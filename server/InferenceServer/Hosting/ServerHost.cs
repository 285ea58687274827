using System.Net;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Models;
using InferenceServer.Core.Monitoring;
using InferenceServer.OnnxRuntime;
using System.Security.Cryptography.X509Certificates;
using InferenceServer.Protocols.Grpc;
using InferenceServer.Protocols.Http;
using InferenceServer.Protocols.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Prometheus;

namespace InferenceServer.Hosting;

/// <summary>
/// The server as an embeddable object: configuration, services, Kestrel endpoints and the model
/// repository. <c>serve</c> runs one until SIGTERM; functional tests start one on loopback port 0.
/// </summary>
internal sealed partial class ServerHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Listeners _listeners;
    private int _disposed;

    private ServerHost(WebApplication app, Listeners listeners)
    {
        _app = app;
        _listeners = listeners;
    }

    /// <summary>The resolved services, for tests and diagnostics.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>The model manager.</summary>
    public ModelManager Models => _app.Services.GetRequiredService<ModelManager>();

    /// <summary>The address the HTTP/REST endpoint is bound to once started, e.g. <c>http://0.0.0.0:8000</c>.</summary>
    public string BoundHttpAddress => Bound(_listeners.Http);

    /// <summary>An address a local client can reach the HTTP/REST endpoint at (a wildcard bind becomes loopback).</summary>
    public Uri HttpAddress => Reachable(BoundHttpAddress);

    /// <summary>The address the gRPC endpoint is bound to once started, e.g. <c>http://0.0.0.0:8001</c> (<c>https</c> with TLS); throws when gRPC is disabled.</summary>
    public string BoundGrpcAddress => Bound(_listeners.Grpc, _listeners.GrpcTls ? "https" : "http");

    /// <summary>An address a local client can reach the gRPC endpoint at (a wildcard bind becomes loopback).</summary>
    public Uri GrpcAddress => Reachable(BoundGrpcAddress);

    /// <summary>The address the Prometheus metrics endpoint is bound to once started, e.g. <c>http://0.0.0.0:8002</c>; throws when metrics are disabled.</summary>
    public string BoundMetricsAddress => Bound(_listeners.Metrics);

    /// <summary>Whether the Prometheus metrics endpoint is on (<c>Metrics:Enabled</c>, default true).</summary>
    public bool MetricsEnabled => _listeners.Metrics is not null;

    /// <summary>An address a local client can scrape <c>/metrics</c> at (a wildcard bind becomes loopback).</summary>
    public Uri MetricsAddress => Reachable(BoundMetricsAddress);

    /// <summary>
    /// Builds a host. Settings are layered, later winning: the defaults shipped next to the binary,
    /// <c>config/appsettings.json</c> under <paramref name="contentRoot"/>, environment variables,
    /// then <paramref name="settings"/> (the command line).
    /// </summary>
    public static ServerHost Create(IReadOnlyDictionary<string, string?> settings, string? contentRoot = null)
    {
        var root = Path.GetFullPath(contentRoot ?? Directory.GetCurrentDirectory());
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = root });
        builder.Configuration.Sources.Clear();
        builder.Configuration
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "config", "appsettings.json"), optional: true)
            .AddJsonFile(Path.Combine(root, "config", "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .AddInMemoryCollection(settings);

        var configuration = builder.Configuration;
        ConfigureLogging(builder, configuration);

        var services = builder.Services;
        services.Configure<ModelManagerOptions>(configuration.GetSection("Server"));
        services.Configure<HttpProtocolOptions>(configuration.GetSection("Http"));
        services.Configure<GrpcProtocolOptions>(configuration.GetSection("Grpc"));
        services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(configuration.GetValue("Server:ShutdownTimeoutSeconds", 30)));
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<ModelManagerOptions>>().Value);
        services.AddSingleton<IModelBackend, OnnxRuntimeBackend>();
        services.AddSingleton<ModelLoader>();
        services.AddSingleton<ModelManager>();
        services.AddSingleton(sp => new ServerInfo { Backends = sp.GetServices<IModelBackend>().Select(b => b.Runtime).ToArray() });
        // Each server its own registry: several run in one test process, and prometheus-net's process-wide default
        // registry would mix their series (and add .NET process metrics that Triton does not expose).
        services.AddSingleton(_ => Prometheus.Metrics.NewCustomRegistry());
        services.AddSingleton<InferenceMetrics>();
        services.AddSingleton<HostMetrics>();
        services.AddInferenceGrpc();
        services.AddV2Http();

        var httpAddressText = configuration.GetValue("Http:Address", "0.0.0.0")!;
        var address = ParseAddress(httpAddressText, "Http:Address");
        var port = configuration.GetValue("Http:Port", 8000);
        var metrics = ReadMetricsEndpoint(configuration, httpAddressText, port);
        var grpc = ReadGrpcEndpoint(configuration, httpAddressText, port, metrics?.Port ?? -1);
        var maxBody = configuration.GetValue("Http:MaxRequestBodyBytes", new HttpProtocolOptions().MaxRequestBodyBytes);
        var listeners = new Listeners();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = maxBody;
            kestrel.Listen(address, port, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                listen.UseV2Connections();
                listeners.Http = listen;
            });
            if (metrics is { } metricsEndpoint)
            {
                kestrel.Listen(metricsEndpoint.Address, metricsEndpoint.Port, listen =>
                {
                    listen.Protocols = HttpProtocols.Http1;
                    listen.UseMetricsConnections();
                    listeners.Metrics = listen;
                });
            }
            if (grpc is { } endpoint)
            {
                kestrel.Listen(endpoint.Address, endpoint.Port, listen =>
                {
                    // Cleartext gRPC is HTTP/2 with prior knowledge; with TLS, ALPN negotiates h2.
                    listen.Protocols = HttpProtocols.Http2;
                    if (endpoint.Certificate is { } certificate)
                    {
                        listen.UseHttps(certificate);
                        listeners.GrpcTls = true;
                    }
                    listen.UseGrpcConnections();
                    listeners.Grpc = listen;
                });
            }
        });

        var app = builder.Build();
        // Requests on the metrics port are answered here and never reach the v2 routes.
        if (metrics is not null)
        {
            app.UseMetricsEndpoint(app.Services.GetRequiredService<CollectorRegistry>());
        }
        // The gRPC services answer the gRPC port only, and it answers nothing else.
        app.MapInferenceGrpc();
        app.UseV2Http();
        return new ServerHost(app, listeners);
    }

    /// <summary>Starts listening, then loads the repository; the server reports ready once loading is done.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        var options = Services.GetRequiredService<ModelManagerOptions>();
        var logger = Services.GetRequiredService<ILogger<ServerHost>>();
        var repository = Path.GetFullPath(options.ModelRepository, _app.Environment.ContentRootPath);
        if (!Directory.Exists(repository))
        {
            throw new DirectoryNotFoundException($"model repository '{repository}' does not exist (set it with --model-repository)");
        }
        options.ModelRepository = repository;

        var threshold = _app.Configuration.GetValue("Server:NativeMmapThresholdBytes", NativeAllocator.DefaultMmapThresholdBytes);
        if (NativeAllocator.FixMmapThreshold(threshold) is { } glibc)
        {
            LogAllocator(logger, glibc, threshold);
        }

        // The host gauges exist before the first scrape.
        Services.GetRequiredService<HostMetrics>();
        await _app.StartAsync(cancellationToken).ConfigureAwait(false);
        _app.Lifetime.ApplicationStopping.Register(() => LogStopping(logger));
        LogListening(logger, BoundHttpAddress, options.ModelControlMode, repository);
        if (_listeners.Grpc is not null)
        {
            LogGrpcListening(logger, BoundGrpcAddress);
        }
        if (_listeners.Metrics is not null)
        {
            LogMetricsListening(logger, BoundMetricsAddress);
        }
        foreach (var runtime in Services.GetRequiredService<ServerInfo>().Backends)
        {
            LogBackend(logger, runtime.Backend, runtime.Runtime, runtime.Version, runtime.Flavor);
        }
        await Models.LoadRepositoryAsync(cancellationToken).ConfigureAwait(false);
        foreach (var row in Models.Index())
        {
            LogIndexRow(logger, row.Name, row.Version.Length > 0 ? row.Version : "-", row.State.ProtocolName(), row.Reason);
        }
        LogReady(logger, BoundHttpAddress);
    }

    /// <summary>Runs <c>serve</c>: start, serve until SIGTERM/Ctrl+C, drain, stop. Returns the process exit code.</summary>
    public static async Task<int> RunAsync(IReadOnlyDictionary<string, string?> settings)
    {
        ServerHost host;
        try
        {
            host = Create(settings);
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or ArgumentException)
        {
            await Console.Error.WriteLineAsync($"inference-server: bad setting: {e.Message}").ConfigureAwait(false);
            return 2;
        }

        await using (host.ConfigureAwait(false))
        {
            try
            {
                await host.StartAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is DirectoryNotFoundException or IOException)
            {
                await Console.Error.WriteLineAsync($"inference-server: {e.Message}").ConfigureAwait(false);
                return 1;
            }
            // Stopping lets Kestrel finish in-flight requests (up to the shutdown timeout) before the
            // models drain and release their instances.
            await host._app.WaitForShutdownAsync().ConfigureAwait(false);
        }
        return 0;
    }

    private static void ConfigureLogging(WebApplicationBuilder builder, IConfiguration configuration)
    {
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-dd HH:mm:ss.fff ";
            o.UseUtcTimestamp = true;
        });
        // Before the configuration, so Logging:LogLevel can still override them.
        builder.Logging.AddInferenceGrpcLogFilters();
        builder.Logging.AddConfiguration(configuration.GetSection("Logging"));
        if (configuration.GetValue("Server:LogVerbose", 0) > 0)
        {
            builder.Logging.SetMinimumLevel(LogLevel.Debug);
        }
    }

    // The metrics endpoint: on unless Metrics:Enabled is false (Triton's --allow-metrics); as in Triton, on the HTTP
    // address unless Metrics:Address says otherwise.
    private static (IPAddress Address, int Port)? ReadMetricsEndpoint(IConfiguration configuration, string httpAddress, int httpPort)
    {
        if (!configuration.GetValue("Metrics:Enabled", true))
        {
            return null;
        }
        var address = ParseAddress(configuration.GetValue("Metrics:Address", httpAddress)!, "Metrics:Address");
        var port = configuration.GetValue("Metrics:Port", 8002);
        if (port != 0 && port == httpPort)
        {
            throw new ArgumentException($"Metrics:Port and Http:Port are both {port}; the metrics endpoint needs a port of its own");
        }
        return (address, port);
    }

    // The gRPC endpoint: on unless Grpc:Enabled is false; the HTTP address unless Grpc:Address says otherwise; TLS when
    // Grpc:ServerCertificate and Grpc:ServerKey name PEM files.
    private static (IPAddress Address, int Port, X509Certificate2? Certificate)? ReadGrpcEndpoint(IConfiguration configuration, string httpAddress, int httpPort, int metricsPort)
    {
        if (!configuration.GetValue("Grpc:Enabled", true))
        {
            return null;
        }
        var address = ParseAddress(configuration.GetValue("Grpc:Address", httpAddress)!, "Grpc:Address");
        var port = configuration.GetValue("Grpc:Port", 8001);
        if (port != 0 && (port == httpPort || port == metricsPort))
        {
            throw new ArgumentException($"Grpc:Port {port} is also the HTTP or metrics port; the gRPC endpoint needs a port of its own");
        }
        var certificatePath = configuration.GetValue<string>("Grpc:ServerCertificate");
        var keyPath = configuration.GetValue<string>("Grpc:ServerKey");
        if (string.IsNullOrEmpty(certificatePath) != string.IsNullOrEmpty(keyPath))
        {
            throw new ArgumentException("gRPC TLS needs both Grpc:ServerCertificate and Grpc:ServerKey (PEM files)");
        }
        X509Certificate2? certificate = null;
        if (!string.IsNullOrEmpty(certificatePath))
        {
            try
            {
                certificate = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
            }
            catch (Exception e) when (e is IOException or System.Security.Cryptography.CryptographicException or UnauthorizedAccessException)
            {
                throw new ArgumentException($"cannot read the gRPC TLS certificate '{certificatePath}' with key '{keyPath}': {e.Message}", e);
            }
        }
        return (address, port, certificate);
    }

    private static IPAddress ParseAddress(string text, string key) => text switch
    {
        "localhost" => IPAddress.Loopback,
        _ when IPAddress.TryParse(text, out var address) => address,
        _ => throw new FormatException($"{key} '{text}' is not an IP address"),
    };

    // Kestrel writes the port it bound (when asked for 0) back into the endpoint's ListenOptions.
    private static string Bound(ListenOptions? listen, string scheme = "http") =>
        listen?.IPEndPoint is { } endpoint ? $"{scheme}://{endpoint}" : throw new InvalidOperationException("the endpoint is not enabled or the server has not started");

    private static Uri Reachable(string bound) =>
        new(bound.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "[::1]", StringComparison.Ordinal));

    // The Kestrel endpoints, captured when Kestrel is configured so their bound ports can be read after start.
    private sealed class Listeners
    {
        public ListenOptions? Http { get; set; }

        public ListenOptions? Metrics { get; set; }

        public ListenOptions? Grpc { get; set; }

        public bool GrpcTls { get; set; }
    }

    /// <summary>Stops (finishing in-flight requests, then draining the models) and releases everything; safe to call twice.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "HTTP/REST (KServe v2) listening on {Address}; model control mode {Mode}; repository {Repository}")]
    private static partial void LogListening(ILogger logger, string address, ModelControlMode mode, string repository);

    [LoggerMessage(Level = LogLevel.Information, Message = "gRPC (inference.GRPCInferenceService, grpc.health.v1.Health, server reflection) listening on {Address}")]
    private static partial void LogGrpcListening(ILogger logger, string address);

    [LoggerMessage(Level = LogLevel.Information, Message = "Native allocator: glibc {Version}, mmap threshold fixed at {Bytes} bytes, so an unloaded model's memory goes back to the OS")]
    private static partial void LogAllocator(ILogger logger, string version, int bytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Prometheus metrics listening on {Address}/metrics")]
    private static partial void LogMetricsListening(ILogger logger, string address);

    [LoggerMessage(Level = LogLevel.Information, Message = "Backend {Backend}: {Runtime} {Version} ({Flavor} build)")]
    private static partial void LogBackend(ILogger logger, string backend, string runtime, string version, string flavor);

    [LoggerMessage(Level = LogLevel.Information, Message = "  {Model} version {Version}: {State} {Reason}")]
    private static partial void LogIndexRow(ILogger logger, string model, string version, string state, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ready: serving on {Address}")]
    private static partial void LogReady(ILogger logger, string address);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping: no new connections; finishing in-flight requests, then draining the models")]
    private static partial void LogStopping(ILogger logger);
}
