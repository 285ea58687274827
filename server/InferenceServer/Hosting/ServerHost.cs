using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using InferenceServer.Core.Lifecycle;
using InferenceServer.Core.Models;
using InferenceServer.Core.Monitoring;
using InferenceServer.Core.Serving;
using InferenceServer.Protocols;
using InferenceServer.Protocols.Grpc;
using InferenceServer.Protocols.Http;
using InferenceServer.Protocols.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.HttpLogging;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging.Console;
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

    /// <summary>The front door: everything the server does with its models goes through it.</summary>
    public InferenceFrontDoor FrontDoor => _app.Services.GetRequiredService<InferenceFrontDoor>();

    /// <summary>Whether the HTTP/REST endpoint is on (<c>--allow-http</c>).</summary>
    public bool HttpEnabled => _listeners.HttpEnabled;

    /// <summary>Whether the metrics endpoint is on (<c>--allow-metrics</c>).</summary>
    public bool MetricsEnabled => _listeners.MetricsEnabled;

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

    /// <summary>An address a local client can scrape <c>/metrics</c> at (a wildcard bind becomes loopback).</summary>
    public Uri MetricsAddress => Reachable(BoundMetricsAddress);

    /// <summary>
    /// Builds a host. Settings are layered, later winning: the defaults shipped next to the binary,
    /// <c>config/appsettings.json</c> under <paramref name="contentRoot"/>, environment variables,
    /// then <paramref name="settings"/> (the command line). <paramref name="configureServices"/> may replace services after the
    /// server's own are registered (a routing policy, say).
    /// </summary>
    public static ServerHost Create(IReadOnlyDictionary<string, string?> settings, string? contentRoot = null, Action<IServiceCollection>? configureServices = null)
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
        var log = Bind<ServerLogOptions>(configuration, "Logging");
        log.Validate();
        ConfigureLogging(builder, configuration, log);

        var services = builder.Services;
        services.AddInferenceCore(configuration);
        services.Configure<HttpProtocolOptions>(configuration.GetSection("Http"));
        services.Configure<GrpcProtocolOptions>(configuration.GetSection("Grpc"));
        services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(configuration.GetValue("Server:ShutdownTimeoutSeconds", 30)));
        services.AddInferenceGrpc();
        services.AddV2Http();
        if (log.AccessLog)
        {
            // ASP.NET's own request logging, combined into one entry per request; off, it costs nothing.
            services.AddHttpLogging(o =>
            {
                o.LoggingFields = HttpLoggingFields.RequestMethod | HttpLoggingFields.RequestPath | HttpLoggingFields.ResponseStatusCode | HttpLoggingFields.Duration;
                o.CombineLogs = true;
            });
            services.AddHttpLoggingInterceptor<AccessLogRequestId>();
        }

        var httpEnabled = configuration.GetValue("Http:Enabled", true);
        var metricsEnabled = configuration.GetValue("Metrics:Enabled", true);
        var httpAddressText = configuration.GetValue("Http:Address", "0.0.0.0")!;
        var address = ParseAddress(httpAddressText, "Http:Address");
        var port = configuration.GetValue("Http:Port", 8000);
        // As in Triton, the metrics endpoint binds the HTTP address unless told otherwise.
        var metricsAddress = ParseAddress(configuration.GetValue("Metrics:Address", httpAddressText)!, "Metrics:Address");
        var metricsPort = configuration.GetValue("Metrics:Port", 8002);
        if (httpEnabled && metricsEnabled && metricsPort != 0 && metricsPort == port)
        {
            throw new ArgumentException($"Metrics:Port and Http:Port are both {port}; the metrics endpoint needs a port of its own");
        }
        var grpc = ReadGrpcEndpoint(configuration, httpAddressText, httpEnabled ? port : null, metricsEnabled ? metricsPort : null);
        if (!httpEnabled && !metricsEnabled && grpc is null)
        {
            throw new ArgumentException("HTTP, gRPC and metrics are all switched off (--allow-http, --allow-grpc, --allow-metrics); there is nothing to serve");
        }
        var maxBody = configuration.GetValue("Http:MaxRequestBodyBytes", new HttpProtocolOptions().MaxRequestBodyBytes);
        var listeners = new Listeners { HttpEnabled = httpEnabled, MetricsEnabled = metricsEnabled };
        if (httpEnabled)
        {
            listeners.Planned.Add(("HTTP", new IPEndPoint(address, port)));
        }
        if (grpc is { } planned)
        {
            listeners.Planned.Add(("gRPC", new IPEndPoint(planned.Address, planned.Port)));
        }
        if (metricsEnabled)
        {
            listeners.Planned.Add(("metrics", new IPEndPoint(metricsAddress, metricsPort)));
        }
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = maxBody;
            if (httpEnabled)
            {
                kestrel.Listen(address, port, listen =>
                {
                    listen.Protocols = HttpProtocols.Http1;
                    listen.MarkAs(ServerPort.Rest);
                    listeners.Http = listen;
                });
            }
            if (metricsEnabled)
            {
                kestrel.Listen(metricsAddress, metricsPort, listen =>
                {
                    listen.Protocols = HttpProtocols.Http1;
                    listen.MarkAs(ServerPort.Metrics);
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
                    listen.MarkAs(ServerPort.Grpc);
                    listeners.Grpc = listen;
                });
            }
        });

        configureServices?.Invoke(services);
        var app = builder.Build();
        if (log.AccessLog)
        {
            // First, so every request is logged: REST, gRPC calls and metrics scrapes.
            app.UseHttpLogging();
        }
        // Requests on the metrics port are answered here and never reach the v2 routes.
        if (metricsEnabled)
        {
            app.UseMetricsEndpoint(app.Services.GetRequiredService<CollectorRegistry>());
        }
        // The gRPC services answer the gRPC port only, and it answers nothing else.
        app.MapInferenceGrpc();
        app.UseV2Http();
        return new ServerHost(app, listeners);
    }

    /// <summary>
    /// Starts listening, then loads the repositories; the server reports ready once loading is done (and, with
    /// <c>--strict-readiness</c>, every model it was asked for serves). Throws <see cref="ServerStartException"/> when
    /// a port is taken, or when a model fails to load and <c>--exit-on-error</c> is on.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        var options = Services.GetRequiredService<ModelLifecycleOptions>();
        var logger = Services.GetRequiredService<ILogger<ServerHost>>();
        var repositories = new List<string>(options.ModelRepositories.Count);
        foreach (var path in options.ModelRepositories)
        {
            var repository = Path.GetFullPath(path, _app.Environment.ContentRootPath);
            if (!Directory.Exists(repository))
            {
                throw new DirectoryNotFoundException($"model repository '{repository}' does not exist (set it with --model-repository)");
            }
            repositories.Add(repository);
        }
        options.ModelRepositories = repositories;

        var threshold = _app.Configuration.GetValue("Server:NativeMmapThresholdBytes", NativeAllocator.DefaultMmapThresholdBytes);
        if (NativeAllocator.FixMmapThreshold(threshold) is { } glibc)
        {
            LogAllocator(logger, glibc, threshold);
        }

        // The host gauges exist before the first scrape.
        Services.GetRequiredService<HostMetrics>();
        // A port that is taken is named here, in one line: Kestrel's own failure would be logged with its stack trace.
        if (_listeners.FindTakenPort() is { } taken)
        {
            throw new ServerStartException($"{taken} is already in use");
        }
        try
        {
            await _app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e) when (e.InnerException is AddressInUseException)
        {
            // Taken between the check and the bind.
            throw new ServerStartException($"{_listeners.FindTakenPort() ?? "a port"} is already in use", e);
        }
        var door = FrontDoor;
        _app.Lifetime.ApplicationStopping.Register(() =>
        {
            door.BeginStopping();
            LogStopping(logger);
        });
        if (_listeners.Http is not null)
        {
            LogHttpListening(logger, BoundHttpAddress);
        }
        if (_listeners.Grpc is not null)
        {
            LogGrpcListening(logger, BoundGrpcAddress);
        }
        if (_listeners.Metrics is not null)
        {
            LogMetricsListening(logger, BoundMetricsAddress);
        }
        foreach (var runtime in door.Server.Backends)
        {
            LogBackend(logger, runtime.Backend, runtime.Runtime, runtime.Version, runtime.Flavor);
        }
        LogRepositories(logger, options.ModelControlMode, string.Join("', '", repositories));
        await door.StartAsync(cancellationToken).ConfigureAwait(false);
        foreach (var row in door.RepositoryIndex())
        {
            LogIndexRow(logger, row.Name, row.Version.Length > 0 ? row.Version : "-", row.State.ProtocolName(), row.Reason);
        }
        var failures = door.StartupFailures();
        if (failures.Count > 0 && options.ExitOnError)
        {
            // Triton's --exit-on-error: a server that cannot serve what it was asked to stops at once, so the failure is seen at deployment.
            throw new ServerStartException($"{failures.Count} startup model load(s) failed and --exit-on-error is on (set it to false to serve the rest): {string.Join("; ", failures)}");
        }
        if (door.IsReady)
        {
            LogReady(logger);
        }
        else
        {
            LogNotReady(logger, failures.Count);
        }
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
            catch (Exception e) when (e is ServerStartException or DirectoryNotFoundException or IOException)
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

    private static void ConfigureLogging(WebApplicationBuilder builder, IConfiguration configuration, ServerLogOptions log)
    {
        var logging = builder.Logging;
        logging.ClearProviders();
        // The console provider with both its formatters: simple (one line per entry) unless
        // Logging:Console:FormatterName (or Logging__Console__FormatterName) says json.
        logging.AddConsole();
        var services = builder.Services;
        // Set here because the slim builder has already set "simple" in code, which would win over the configuration.
        var formatter = configuration["Logging:Console:FormatterName"];
        services.Configure<ConsoleLoggerOptions>(o => o.FormatterName = string.IsNullOrEmpty(formatter) ? ConsoleFormatterNames.Simple : formatter);
        services.Configure<SimpleConsoleFormatterOptions>(o =>
        {
            o.SingleLine = true;
            // The simple formatter writes the timestamp right before the level.
            o.TimestampFormat = log.TimestampFormat + " ";
            o.UseUtcTimestamp = true;
            if (log.File.Length > 0)
            {
                o.ColorBehavior = LoggerColorBehavior.Disabled;
            }
        });
        services.Configure<JsonConsoleFormatterOptions>(o =>
        {
            o.TimestampFormat = log.TimestampFormat;
            o.UseUtcTimestamp = true;
        });
        // Before the configuration, so Logging:LogLevel can still override them.
        logging.AddInferenceGrpcLogFilters();
        if (log.AccessLog)
        {
            // Microsoft.AspNetCore logs at Warning by default; the access log is Information. Before the configuration,
            // so Logging:LogLevel can still silence it.
            logging.AddFilter("Microsoft.AspNetCore.HttpLogging", LogLevel.Information);
        }
        logging.AddConfiguration(configuration.GetSection("Logging"));
        services.PostConfigure<LoggerFilterOptions>(o => LogLevelSwitches.Apply(o, log));
        if (log.File.Length > 0)
        {
            FileStream file;
            try
            {
                file = new FileStream(Path.GetFullPath(log.File), FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
            {
                throw new ArgumentException($"cannot open the log file '{log.File}': {e.Message}", e);
            }
            // Instead of the console, as Triton's --log-file; the console's formatters stay registered and format the file.
            var console = services.Where(d => d.ServiceType == typeof(ILoggerProvider) && d.ImplementationType == typeof(ConsoleLoggerProvider)).ToList();
            foreach (var descriptor in console)
            {
                services.Remove(descriptor);
            }
            services.AddSingleton<ILoggerProvider>(sp => new FileLoggerProvider(file, sp.GetServices<ConsoleFormatter>(), sp.GetRequiredService<IOptions<ConsoleLoggerOptions>>()));
        }
    }

    // Binds a section now, so a value that does not convert is a startup error naming the key, not a .NET type.
    internal static T Bind<T>(IConfiguration configuration, string section)
        where T : new()
    {
        var options = new T();
        try
        {
            configuration.GetSection(section).Bind(options);
        }
        catch (InvalidOperationException e)
        {
            var failure = ConversionFailure().Match(e.Message);
            throw new ArgumentException(failure.Success ? $"{failure.Groups["key"].Value} '{failure.Groups["value"].Value}' is not valid" : e.Message, e);
        }
        return options;
    }

    // The binder's message names the .NET type the value did not convert to; the key and the value are what the user needs.
    [GeneratedRegex(@"^Failed to convert configuration value '(?<value>.*)' at '(?<key>[^']*)' to type")]
    private static partial Regex ConversionFailure();

    // The gRPC endpoint: on unless Grpc:Enabled is false; the HTTP address unless Grpc:Address says otherwise; TLS when
    // Grpc:ServerCertificate and Grpc:ServerKey name PEM files.
    private static (IPAddress Address, int Port, X509Certificate2? Certificate)? ReadGrpcEndpoint(IConfiguration configuration, string httpAddress, int? httpPort, int? metricsPort)
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
        public bool HttpEnabled { get; init; }

        public bool MetricsEnabled { get; init; }

        public ListenOptions? Http { get; set; }

        public ListenOptions? Metrics { get; set; }

        public ListenOptions? Grpc { get; set; }

        public bool GrpcTls { get; set; }

        /// <summary>The endpoints as configured, by what they serve.</summary>
        public List<(string Name, IPEndPoint EndPoint)> Planned { get; } = [];

        /// <summary>The first endpoint whose port another process listens on, e.g. "HTTP port 8000"; null when every one is free.</summary>
        public string? FindTakenPort()
        {
            foreach (var (name, endpoint) in Planned)
            {
                if (endpoint.Port > 0 && IsTaken(endpoint))
                {
                    return $"{name} port {endpoint.Port}";
                }
            }
            return null;
        }

        private static bool IsTaken(IPEndPoint endpoint)
        {
            using var probe = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                probe.Bind(endpoint);
                return false;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                return true;
            }
            catch (SocketException)
            {
                // Not ours to judge (an address this host does not have, ...): Kestrel's bind reports it.
                return false;
            }
        }
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

    [LoggerMessage(Level = LogLevel.Information, Message = "HTTP/REST (KServe v2) listening on {Address}")]
    private static partial void LogHttpListening(ILogger logger, string address);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model control mode {Mode}; model repositories '{Repositories}'")]
    private static partial void LogRepositories(ILogger logger, ModelControlMode mode, string repositories);

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

    [LoggerMessage(Level = LogLevel.Information, Message = "Ready: serving")]
    private static partial void LogReady(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Serving, but not ready: {Failures} startup model load(s) failed (above) and --strict-readiness is on, so /v2/health/ready answers 503")]
    private static partial void LogNotReady(ILogger logger, int failures);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping: no new connections; finishing in-flight requests, then draining the models")]
    private static partial void LogStopping(ILogger logger);
}
