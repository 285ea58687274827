using System.Text.RegularExpressions;
using InferenceServer.Core.Devices;
using InferenceServer.Core.Lifecycle;
using InferenceServer.Core.Models;
using InferenceServer.Core.Residency;
using InferenceServer.Core.Scheduling;
using InferenceServer.Core.Monitoring;
using InferenceServer.Core.Serving;
using InferenceServer.Protocols;
using InferenceServer.Protocols.Access;
using InferenceServer.Protocols.Buffers;
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
    // ASP.NET Core's per-request hosting diagnostics (request start and finish lines, and the Activity behind them).
    private const string HostingDiagnosticsCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";

    private readonly WebApplication _app;
    private readonly ServerEndpoints _endpoints;
    private int _disposed;

    private ServerHost(WebApplication app, ServerEndpoints endpoints)
    {
        _app = app;
        _endpoints = endpoints;
    }

    /// <summary>The resolved services, for tests and diagnostics.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>The front door: everything the server does with its models goes through it.</summary>
    public InferenceFrontDoor FrontDoor => _app.Services.GetRequiredService<InferenceFrontDoor>();

    /// <summary>Whether the HTTP/REST endpoint is on (<c>--allow-http</c>).</summary>
    public bool HttpEnabled => _endpoints.HttpEnabled;

    /// <summary>Whether the metrics endpoint is on (<c>--allow-metrics</c>).</summary>
    public bool MetricsEnabled => _endpoints.MetricsEnabled;

    /// <summary>The address the HTTP/REST endpoint is bound to once started, e.g. <c>http://0.0.0.0:8000</c> (<c>https</c> with TLS).</summary>
    public string BoundHttpAddress => Bound(_endpoints.Http, _endpoints.HttpTls ? "https" : "http");

    /// <summary>An address a local client can reach the HTTP/REST endpoint at (a wildcard bind becomes loopback).</summary>
    public Uri HttpAddress => Reachable(BoundHttpAddress);

    /// <summary>The address the gRPC endpoint is bound to once started, e.g. <c>http://0.0.0.0:8001</c> (<c>https</c> with TLS); throws when gRPC is disabled.</summary>
    public string BoundGrpcAddress => Bound(_endpoints.Grpc, _endpoints.GrpcTls ? "https" : "http");

    /// <summary>An address a local client can reach the gRPC endpoint at (a wildcard bind becomes loopback).</summary>
    public Uri GrpcAddress => Reachable(BoundGrpcAddress);

    /// <summary>The address the Prometheus metrics endpoint is bound to once started, e.g. <c>http://0.0.0.0:8002</c> (<c>https</c> with REST's TLS); throws when metrics are disabled.</summary>
    public string BoundMetricsAddress => Bound(_endpoints.Metrics, _endpoints.HttpTls ? "https" : "http");

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
        // The GPUs as the driver reports them, where it does (the core's default is none); a test may replace it.
        services.AddSingleton<IGpuDevices>(static sp => NvmlGpuDevices.Open(sp.GetRequiredService<ILogger<NvmlGpuDevices>>()));
        // One options type per section, each bound once by the options system and checked at start (ValidateOnStart);
        // the host resolves them all below, before anything starts, so a bad setting is one line and exit status 2.
        services.AddInferenceCore(configuration);
        services.AddSection<HttpProtocolOptions>(configuration, "Http", static o => o.Validate());
        services.AddSection<GrpcProtocolOptions>(configuration, "Grpc", static o => o.Validate());
        services.AddSection<MetricsOptions>(configuration, "Metrics", static o => o.Validate());
        services.AddSection<AuthOptions>(configuration, "Auth", static o => o.Validate());
        services.AddSection<ClientRateLimitOptions>(configuration, "RateLimit", static o => o.Validate());
        services.AddSection<CrossOriginOptions>(configuration, "Cors", static o => o.Validate());
        // Bound here as well, before the host is built: whether authentication and authorization are registered at all
        // depends on them.
        services.AddServerAccess(Bind<AuthOptions>(configuration, "Auth"), Bind<HttpProtocolOptions>(configuration, "Http"), Bind<GrpcProtocolOptions>(configuration, "Grpc"));
        services.AddSingleton<ServerEndpoints>();
        services.AddOptions<HostOptions>().Configure<IOptions<ServerOptions>>(static (host, server) => host.ShutdownTimeout = TimeSpan.FromSeconds(server.Value.ShutdownTimeoutSeconds));
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
        services.AddSingleton<ConnectionGate>();
        services.AddSingleton<ShutdownDrain>();
        services.AddSingleton<KeepAliveNotice>();
        services.AddHostedService(static sp => sp.GetRequiredService<ShutdownDrain>());
        services.AddSingleton(static sp =>
        {
            var server = sp.GetRequiredService<IOptions<ServerOptions>>().Value;
            return new RequestBodyBudget(server.MaxRequestBodyBytesInFlight, TimeSpan.FromMilliseconds(server.RequestBodyWaitMilliseconds), sp.GetRequiredService<TimeProvider>());
        });
        builder.WebHost.ConfigureKestrel(static (_, kestrel) =>
        {
            // The gate first: it stands in front of every endpoint added after it.
            kestrel.ApplicationServices.GetRequiredService<ConnectionGate>().Configure(kestrel);
            kestrel.ApplicationServices.GetRequiredService<ServerEndpoints>().Configure(kestrel);
        });

        configureServices?.Invoke(services);
        WebApplication app;
        ServerEndpoints endpoints;
        ServerOptions serverOptions;
        try
        {
            // Building resolves the host's own options (the shutdown timeout reads the Server section).
            app = builder.Build();
            serverOptions = app.Services.GetRequiredService<IOptions<ServerOptions>>().Value;
            endpoints = app.Services.GetRequiredService<ServerEndpoints>();
        }
        catch (InvalidOperationException e) when (NamedConversionFailure(e) is { } named)
        {
            throw named;
        }
        // Before anything else, so every thread that answers a request is lowered the first time it does (ThreadNice).
        var requestThreadNice = serverOptions.RequestThreadNice;
        if (requestThreadNice > 0)
        {
            ThreadNice.KeepStartPriority();
            app.Use((context, next) =>
            {
                ThreadNice.LowerOnce(requestThreadNice);
                return next(context);
            });
        }
        // First: while the server drains for shutdown, every HTTP/1.1 answer closes its connection.
        app.Use(app.Services.GetRequiredService<ShutdownDrain>().MarkAsync);
        // Every HTTP/1.1 answer says how long its connection is kept idle, so a client stops using it before the server closes it.
        app.Use(app.Services.GetRequiredService<KeepAliveNotice>().MarkAsync);
        if (log.AccessLog)
        {
            // First after the drain, so every request is logged: REST, gRPC calls and metrics scrapes.
            app.UseHttpLogging();
        }
        // Before every port's handling, metrics included: CORS, credentials, per-client rate limits, scopes.
        app.UseServerAccess();
        // Requests on the metrics port are answered here and never reach the v2 routes.
        if (endpoints.MetricsEnabled)
        {
            app.UseMetricsEndpoint(app.Services.GetRequiredService<CollectorRegistry>());
        }
        // The gRPC services answer the gRPC port only, and it answers nothing else.
        app.MapInferenceGrpc();
        app.UseV2Http();
        return new ServerHost(app, endpoints);
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

        var threshold = Services.GetRequiredService<IOptions<ServerOptions>>().Value.NativeMmapThresholdBytes;
        if (NativeHeap.FixMmapThreshold(threshold) is { } glibc)
        {
            LogAllocator(logger, glibc, threshold);
        }

        // The host gauges exist before the first scrape; resolving the GPU ones opens NVML, which logs what it found.
        Services.GetRequiredService<HostMetrics>();
        Services.GetRequiredService<GpuMetrics>();
        Services.GetRequiredService<Core.Residency.ResidencyMetrics>();
        // A port that is taken is named here, in one line: Kestrel's own failure would be logged with its stack trace.
        if (_endpoints.FindTakenPort() is { } taken)
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
            throw new ServerStartException($"{_endpoints.FindTakenPort() ?? "a port"} is already in use", e);
        }
        var door = FrontDoor;
        _app.Lifetime.ApplicationStopping.Register(() =>
        {
            door.BeginStopping();
            LogStopping(logger);
        });
        if (_endpoints.Http is not null)
        {
            LogHttpListening(logger, BoundHttpAddress);
        }
        if (_endpoints.Grpc is not null)
        {
            LogGrpcListening(logger, BoundGrpcAddress);
        }
        if (_endpoints.Metrics is not null)
        {
            LogMetricsListening(logger, BoundMetricsAddress);
        }
        Services.GetRequiredService<ServerAccess>().LogSummary();
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
        services.Configure<ConsoleLoggerOptions>(configuration.GetSection("Logging:Console"));
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
        // ASP.NET Core starts an Activity and a logging scope for every request whenever this category is enabled at any
        // level, though at Warning (the default for Microsoft.AspNetCore, --log-verbose included) it writes nothing for a
        // request: its request lines are Information. Off, each request saves both (issue 11: a quarter of the bytes a
        // REST binary request allocated, a fifth of a gRPC one's). The scope is what gives every entry a request logs its
        // RequestId, which the formatters write only with IncludeScopes: then the category stays as configured. A
        // Logging:LogLevel rule for the category wins over this.
        if (!Bind<ConsoleFormatterOptions>(configuration, "Logging:Console:FormatterOptions").IncludeScopes)
        {
            logging.AddFilter(HostingDiagnosticsCategory, LogLevel.None);
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
    private static T Bind<T>(IConfiguration configuration, string section)
        where T : new()
    {
        var options = new T();
        try
        {
            configuration.GetSection(section).Bind(options);
        }
        catch (InvalidOperationException e)
        {
            throw NamedConversionFailure(e) ?? new ArgumentException(e.Message, e);
        }
        return options;
    }

    // A value the binder could not convert, as "<key> '<value>' is not valid"; null for any other failure.
    private static ArgumentException? NamedConversionFailure(InvalidOperationException e) =>
        ConversionFailure().Match(e.Message) is { Success: true } failure
            ? new ArgumentException($"{failure.Groups["key"].Value} '{failure.Groups["value"].Value}' is not valid", e)
            : null;

    // The binder's message names the .NET type the value did not convert to; the key and the value are what the user needs.
    [GeneratedRegex(@"^Failed to convert configuration value '(?<value>.*)' at '(?<key>[^']*)' to type")]
    private static partial Regex ConversionFailure();

    // Kestrel writes the port it bound (when asked for 0) back into the endpoint's ListenOptions.
    private static string Bound(ListenOptions? listen, string scheme = "http") =>
        listen?.IPEndPoint is { } endpoint ? $"{scheme}://{endpoint}" : throw new InvalidOperationException("the endpoint is not enabled or the server has not started");

    private static Uri Reachable(string bound) =>
        new(bound.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "[::1]", StringComparison.Ordinal));

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
