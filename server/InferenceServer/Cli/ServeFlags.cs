using System.Collections.Frozen;

namespace InferenceServer.Cli;

/// <summary>
/// The flags of <c>serve</c>, spelled as Triton spells them, each with the configuration key it sets: command line,
/// environment (<c>Server__ModelRepository</c>) and <c>config/appsettings.json</c> bind the same options, and the
/// command line wins. The defaults shown here are those of <c>config/appsettings.json</c> and the options types.
/// </summary>
internal static class ServeFlags
{
    /// <summary>Every flag, in the order <c>--help</c> lists them.</summary>
    public static IReadOnlyList<ServeFlag> All { get; } =
    [
        // Model repository and lifecycle.
        new("--model-repository", "Server:ModelRepository", FlagKind.Repeated, "models",
            "A Triton-style model repository to serve; repeat for several (model names must be unique across them).")
        {
            Aliases = ["--model-store"], HelpName = "PATH",
        },
        new("--model-control-mode", "Server:ModelControlMode", FlagKind.Choice, "none",
            "none: load every model at startup, never change; poll: also follow the repositories' changes; explicit: load only --load-model names and what the repository API asks for; "
            + "on-demand: list every model, load each on its first request (and evict least recently used ones under --model-memory-budget).")
        {
            Values = ["none", "poll", "explicit", "on-demand"],
        },
        new("--model-memory-budget", "Server:ModelMemoryBudget", FlagKind.Text, "none",
            "The CPU memory the loaded models may hold together: bytes (8589934592, 8Gi, 512Mi) or a fraction of RAM (0.75). A load that would exceed it "
            + "first evicts least recently used unpinned models, else fails naming the sizes.")
        {
            HelpName = "BYTES|FRACTION",
        },
        new("--model-memory-budget-counts", "Server:ModelMemoryBudgetCounts", FlagKind.Choice, "models",
            "What --model-memory-budget bounds. models: what the loaded models are charged (each one's resident growth across its load). process: the "
            + "process's resident memory above the empty server's (before its first load), so the server's own growth under traffic counts too: loads make "
            + "room for it, and idle models are evicted when it alone goes over.")
        {
            Values = ["models", "process"],
        },
        new("--gpu-memory-budget", "Server:GpuMemoryBudgets", FlagKind.Repeated, "none",
            "<device>:<bytes|fraction>: the device memory the loaded models may hold on one GPU (e.g. 0:0.8, 1:16Gi); repeat per GPU.")
        {
            HelpName = "DEVICE:BYTES|FRACTION",
        },
        new("--eviction-min-idle", "Server:EvictionMinIdleSeconds", FlagKind.Number, "1",
            "A model used within this many seconds is never evicted to make room for one that is not loaded (its load waits, within --cold-start-timeout-ms, until one has been idle that long). 0: LRU alone.")
        {
            HelpName = "SECONDS",
        },
        new("--model-memory-estimate-factor", "Server:ModelMemoryEstimateFactor", FlagKind.Number, "1.2",
            "Before a model version's first load, its memory is estimated as its files' size times this; the measurement across the load replaces it.")
        {
            HelpName = "FACTOR",
        },
        new("--cold-start-queue-size", "Server:ColdStartQueueSize", FlagKind.Integer, "256",
            "On demand: the most requests that may wait at once for models to load; past it 503 with Retry-After.")
        {
            HelpName = "N", Min = 1, Max = int.MaxValue,
        },
        new("--cold-start-timeout-ms", "Server:ColdStartTimeoutMilliseconds", FlagKind.Integer, "30000",
            "On demand: how long a request waits for its model to load; past it 503 with Retry-After (the load goes on).")
        {
            HelpName = "MS", Min = 1, Max = int.MaxValue,
        },
        new("--load-model", "Server:LoadModels", FlagKind.Repeated, "none",
            "With explicit control: a model to load at startup; repeat for several; '*' loads every model.")
        {
            HelpName = "NAME",
        },
        new("--strict-readiness", "Server:StrictReadiness", FlagKind.Boolean, "true",
            "Ready (/v2/health/ready, gRPC ServerReady and health) only when every model the server was asked to load serves; false: once the startup load is done."),
        new("--exit-on-error", "Server:ExitOnError", FlagKind.Boolean, "true",
            "Exit (status 1) when a model the server was asked to load at startup is missing or fails to load."),
        new("--strict-model-config", "Server:StrictModelConfig", FlagKind.Boolean, "false",
            "Refuse models whose config.pbtxt is missing, lists no inputs/outputs (instead of completing it from the model file) or has an unknown field (instead of warning)."),
        new("--model-load-thread-count", "Server:ModelLoadThreadCount", FlagKind.Integer, "4",
            "How many models load at the same time.")
        {
            HelpName = "N", Min = 1, Max = 1024,
        },
        new("--max-queue-batches", "Server:MaxQueueBatches", FlagKind.Integer, "1",
            "A model whose config sets no max_queue_size sheds load once its oldest queued request has waited 100 ms: it then queues at most this many "
            + "batches per instance (max_batch_size requests with dynamic batching, one without) and refuses the rest at once with 503 and Retry-After "
            + "(gRPC UNAVAILABLE), until demand fits the model's capacity again (a quarter of the arrivals find an instance idle); 0: never.")
        {
            HelpName = "N", Max = int.MaxValue,
        },
        new("--max-queue-wait-ms", "Server:MaxQueueWaitMilliseconds", FlagKind.Integer, "1000",
            "How long a request may wait in a model's queue when its config sets no default_timeout_microseconds (its timeout parameter or gRPC deadline "
            + "may shorten it); then it is answered 503 / UNAVAILABLE without running. 0: no limit.")
        {
            HelpName = "MS", Max = int.MaxValue,
        },
        new("--repository-poll-secs", "Server:RepositoryPollSeconds", FlagKind.Number, "15",
            "With poll control: rescan the repositories this often, besides file-system events; 0: events only.")
        {
            HelpName = "SECONDS",
        },
        new("--repository-poll-quiet-ms", "Server:RepositoryPollQuietMilliseconds", FlagKind.Integer, "2000",
            "With poll control: a version folder loads once its files are unchanged this long.")
        {
            HelpName = "MS", Max = int.MaxValue,
        },
        new("--repository-poll-marker", "Server:RepositoryPollMarker", FlagKind.Text, "none",
            "With poll control: load a version folder only once it holds a file of this name.")
        {
            HelpName = "NAME",
        },
        new("--repository-follow-symlinks", "Server:RepositoryFollowSymlinks", FlagKind.Boolean, "false",
            "Load models whose folders, config, model files or warm-up files are symbolic links (they may point outside the repository)."),
        new("--model-max-instances", "Server:ModelMaxInstances", FlagKind.Integer, "64",
            "The most instances one model version may have, over all its instance groups; a config asking for more is refused.")
        {
            HelpName = "N", Min = 1, Max = int.MaxValue,
        },
        new("--model-warmup-max-count", "Server:ModelWarmupMaxCount", FlagKind.Integer, "1000",
            "The largest count a model_warmup sample may ask for; a config asking for more is refused.")
        {
            HelpName = "N", Min = 1, Max = int.MaxValue,
        },
        new("--model-warmup-max-bytes", "Server:ModelWarmupMaxBytes", FlagKind.Integer, "67108864",
            "The most data one model_warmup input may make (dims x element size x batch_size, or its data file); a config asking for more is refused.")
        {
            HelpName = "BYTES", Min = 1, Max = Array.MaxLength,
        },
        new("--model-load-timeout-secs", "Server:ModelLoadTimeoutSeconds", FlagKind.Number, "600",
            "The longest one model's load (instances and warm-up) may take; past it the load is cancelled and what served keeps serving. 0: no limit.")
        {
            HelpName = "SECONDS",
        },
        new("--model-upload-max-bytes", "Server:ModelUploadMaxBytes", FlagKind.Integer, "1073741824",
            "The most bytes of model files one repository-API load may upload.")
        {
            HelpName = "BYTES", Min = 1,
        },
        new("--model-upload-max-total-bytes", "Server:ModelUploadMaxTotalBytes", FlagKind.Integer, "4294967296",
            "The most bytes of uploaded model files kept at once, over all models loaded from uploads.")
        {
            HelpName = "BYTES", Min = 1,
        },
        new("--rate-limit", "Server:RateLimit", FlagKind.Choice, "off",
            "off: an instance runs as soon as it is idle; execution_count: an instance whose instance_group declares rate_limiter resources runs only while it holds them, "
            + "and instances waiting for them take turns by their priority (priority 2 gets half the turns of priority 1), across all models.")
        {
            Values = ["off", "execution_count"],
        },
        new("--rate-limit-resource", "Server:RateLimitResources", FlagKind.Repeated, "the largest count one instance asks for",
            "With --rate-limit execution_count: <name>:<count> sets how many copies of a resource exist on each device (or globally), <name>:<count>:<device> on "
            + "one device; repeat for several.")
        {
            HelpName = "NAME:COUNT[:DEVICE]",
        },
        new("--id", "Server:Id", FlagKind.Text, "inference-server", "The server's name, as server metadata (GET /v2) reports it.")
        {
            HelpName = "NAME",
        },
        new("--exit-timeout-secs", "Server:ShutdownTimeoutSeconds", FlagKind.Integer, "30",
            "On SIGTERM or Ctrl+C: how long in-flight requests may take to finish before the server exits anyway.")
        {
            HelpName = "SECONDS", Max = int.MaxValue,
        },
        new("--shutdown-drain-ms", "Server:ShutdownDrainMilliseconds", FlagKind.Integer, "2000",
            "On SIGTERM: how long to go on answering, closing each HTTP/1.1 connection after its next answer, before the server stops listening; ends early once no connection is left.")
        {
            HelpName = "MS", Max = int.MaxValue,
        },
        new("--max-connections", "Server:MaxConnections", FlagKind.Integer, "derived from the descriptor limit",
            "The most connections open at once over every endpoint; past it new connections are closed and open ones are still served. 0: derive it from the process's descriptor limit (ulimit -n), leaving room for model files and logs.")
        {
            HelpName = "N",
        },
        new("--keepalive-timeout-secs", "Server:KeepAliveTimeoutSeconds", FlagKind.Integer, "30",
            "Close a connection idle this long between requests (HTTP/1.1) or without a call (HTTP/2); HTTP/1.1 clients are told it (Keep-Alive: timeout=N), and the server closes 10 s after it, so a client that keeps to it never sends into a closing connection.")
        {
            HelpName = "SECONDS", Min = 1, Max = int.MaxValue,
        },
        new("--max-body-bytes-in-flight", "Server:MaxRequestBodyBytesInFlight", FlagKind.Integer, "536870912",
            "Request-body bytes (REST bodies, gRPC messages) held at once over every connection; a request past it waits up to --body-wait-ms, then gets 503 (REST) or RESOURCE_EXHAUSTED (gRPC).")
        {
            HelpName = "BYTES", Min = 1,
        },
        new("--body-wait-ms", "Server:RequestBodyWaitMilliseconds", FlagKind.Integer, "1000",
            "How long a request body waits for room under --max-body-bytes-in-flight before it is refused.")
        {
            HelpName = "MS", Max = int.MaxValue,
        },
        new("--request-thread-nice", "Server:RequestThreadNice", FlagKind.Integer, "0",
            "Lower the priority of the threads that answer requests by this many nice steps (Linux; 0: off), so that under overload a model's run on a shared core goes before the refusals; the threads that run models keep the priority the server started with.")
        {
            HelpName = "N", Max = 19,
        },

        // Online features.
        new("--feature-sidecar", "FeatureSidecar:Path", FlagKind.Text, "none",
            "The Unix socket of the feature sidecar ('feature-sidecar serve --socket PATH'): feature views read the online store through it. Without it, "
            + "requests that name an entity of a view that reads the store get 503; raw records still work.")
        {
            HelpName = "PATH",
        },
        new("--feature-sidecar-connections", "FeatureSidecar:Connections", FlagKind.Integer, "2",
            "Persistent connections to the feature sidecar: the first one up carries the lookups, multiplexed; the others stand by for when it breaks.")
        {
            HelpName = "N", Min = 1, Max = 64,
        },
        new("--feature-sidecar-max-pending", "FeatureSidecar:MaxPending", FlagKind.Integer, "4096",
            "Store lookups waiting for the feature sidecar at once; one beyond is refused at once (503).")
        {
            HelpName = "N", Min = 1, Max = int.MaxValue,
        },

        // Drift monitoring.
        new("--drift-monitoring", "Drift:Enabled", FlagKind.Boolean, "true",
            "Keep a sampled window of each model version's live inputs and predictions and compare it with the training profile beside the model "
            + "(profile.json, written by 'inference-server profile'): /v2/models/{m}/drift and the feature_drift_* metrics. false: no window, no cost."),
        new("--drift-sample-rate", "Drift:SampleRate", FlagKind.Number, "0.1",
            "The share of requests (0 to 1) whose rows go into the drift window.")
        {
            HelpName = "RATE",
        },
        new("--drift-window", "Drift:WindowSize", FlagKind.Integer, "4096",
            "Rows the drift window keeps per model version (the latest sampled ones).")
        {
            HelpName = "ROWS", Min = 16, Max = 1_048_576,
        },

        // HTTP/REST.
        new("--allow-http", "Http:Enabled", FlagKind.Boolean, "true", "Serve HTTP/REST (KServe v2); false: gRPC (and metrics) only."),
        new("--http-address", "Http:Address", FlagKind.Address, "0.0.0.0", "Address the HTTP/REST endpoint binds.")
        {
            HelpName = "ADDRESS",
        },
        new("--http-port", "Http:Port", FlagKind.Integer, "8000", "HTTP/REST port; 0 picks a free port.")
        {
            HelpName = "PORT", Max = 65535,
        },
        new("--http-restricted-api", "Http:RestrictedApi", FlagKind.Repeated, "none",
            "<category>[,<category>...]:<key>=<value>: requests to these categories need header <key> set to <value> (else 403); repeat for several groups. "
            + "Categories: health, metadata, inference, shared-memory, model-config, model-repository, statistics, trace, logging, and metrics (the /metrics port).")
        {
            HelpName = "GROUP",
        },
        new("--http-max-body-bytes", "Http:MaxRequestBodyBytes", FlagKind.Integer, "268435456", "Largest request body accepted; larger ones get 413.")
        {
            Aliases = ["--http-max-input-size"], HelpName = "BYTES", Min = 1,
        },
        new("--http-server-cert", "Http:ServerCertificate", FlagKind.Text, "none",
            "PEM certificate for REST and metrics over TLS (with --http-server-key); re-read when the files change. Cleartext without.")
        {
            HelpName = "PEM",
        },
        new("--http-server-key", "Http:ServerKey", FlagKind.Text, "none", "PEM private key for REST and metrics over TLS.")
        {
            HelpName = "PEM",
        },

        // gRPC.
        new("--allow-grpc", "Grpc:Enabled", FlagKind.Boolean, "true", "Serve gRPC (KServe v2 and grpc.health.v1)."),
        new("--grpc-address", "Grpc:Address", FlagKind.Address, "the HTTP address", "Address the gRPC endpoint binds.")
        {
            HelpName = "ADDRESS",
        },
        new("--grpc-port", "Grpc:Port", FlagKind.Integer, "8001", "gRPC port; 0 picks a free port.")
        {
            HelpName = "PORT", Max = 65535,
        },
        new("--grpc-server-cert", "Grpc:ServerCertificate", FlagKind.Text, "none",
            "PEM certificate for gRPC over TLS (with --grpc-server-key); re-read when the files change. Cleartext HTTP/2 without.")
        {
            HelpName = "PEM",
        },
        new("--grpc-server-key", "Grpc:ServerKey", FlagKind.Text, "none", "PEM private key for gRPC over TLS.")
        {
            HelpName = "PEM",
        },
        new("--grpc-max-message-bytes", "Grpc:MaxReceiveMessageBytes", FlagKind.Integer, "268435456",
            "Largest gRPC request message; larger ones get RESOURCE_EXHAUSTED.")
        {
            HelpName = "BYTES", Min = 1, Max = int.MaxValue,
        },
        new("--grpc-keepalive-time", "Grpc:KeepAliveTimeMilliseconds", FlagKind.Integer, "60000",
            "Ping a gRPC client after this long without a frame from it, to find connections whose peer is gone.")
        {
            HelpName = "MS", Min = 1000, Max = int.MaxValue,
        },
        new("--grpc-keepalive-timeout", "Grpc:KeepAliveTimeoutMilliseconds", FlagKind.Integer, "20000",
            "Close a gRPC connection whose answer to a keep-alive ping takes longer than this.")
        {
            HelpName = "MS", Min = 1000, Max = int.MaxValue,
        },
        new("--grpc-stream-max-in-flight", "Grpc:MaxStreamRequestsInFlight", FlagKind.Integer, "128",
            "Requests of one ModelStreamInfer stream accepted and not yet answered; the next is read only once one is answered.")
        {
            HelpName = "N", Min = 1, Max = int.MaxValue,
        },
        new("--grpc-restricted-protocol", "Grpc:RestrictedProtocol", FlagKind.Repeated, "none",
            "<category>[,<category>...]:<key>=<value>: calls to these categories need metadata triton-grpc-protocol-<key> set to <value> (else PERMISSION_DENIED); "
            + "repeat for several groups. Categories as --http-restricted-api's, without metrics; health includes grpc.health.v1.")
        {
            HelpName = "GROUP",
        },
        new("--grpc-response-compression", "Grpc:ResponseCompression", FlagKind.Choice, "none",
            "gzip or deflate: compress gRPC responses for clients that accept that encoding (compressed requests are always accepted).")
        {
            Values = ["none", "gzip", "deflate"], NoneIsEmpty = true,
        },

        // Metrics.
        new("--allow-metrics", "Metrics:Enabled", FlagKind.Boolean, "true", "Serve Prometheus metrics (/metrics on its own port)."),
        new("--metrics-address", "Metrics:Address", FlagKind.Address, "the HTTP address", "Address the metrics endpoint binds.")
        {
            HelpName = "ADDRESS",
        },
        new("--metrics-port", "Metrics:Port", FlagKind.Integer, "8002", "Prometheus metrics port; 0 picks a free port.")
        {
            HelpName = "PORT", Max = 65535,
        },

        // Authentication, rate limits, CORS.
        new("--auth-token", "Auth:Tokens", FlagKind.Repeated, "none",
            "<name>:<sha256-hex>:<scope>[,<scope>...]: a token (its SHA-256, never the token) and what it may call; repeat for several. "
            + "Scopes: health, metadata, infer, statistics, metrics, repository, or *. Sent as 'Authorization: Bearer <token>' or in the API-key header.")
        {
            HelpName = "TOKEN",
        },
        new("--auth-token-file", "Auth:TokenFile", FlagKind.Text, "none",
            "A file of tokens, one <name>:<sha256-hex>:<scopes> per line (# comments), re-read when it changes.")
        {
            HelpName = "PATH",
        },
        new("--auth-open-scopes", "Auth:OpenScopes", FlagKind.Text, "auto",
            "Scopes anyone may call without a credential: comma-separated, * or none. auto: health when a credential is configured; "
            + "with none, every scope, but repository only while the server listens on loopback alone.")
        {
            HelpName = "SCOPES",
        },
        new("--auth-api-key-header", "Auth:ApiKeyHeader", FlagKind.Text, Protocols.Access.AuthOptions.DefaultApiKeyHeader, "The header that may carry a token instead of 'Authorization: Bearer'.")
        {
            HelpName = "NAME",
        },
        new("--auth-client-ca", "Auth:ClientCertificateAuthority", FlagKind.Text, "none",
            "PEM CA certificate(s) for mutual TLS: the TLS endpoints ask for a client certificate and accept only this CA's; "
            + "Auth:ClientCertificates maps subjects to scopes. Re-read when the file changes.")
        {
            HelpName = "PEM",
        },
        new("--rate-limit-requests", "RateLimit:Requests", FlagKind.Integer, "0",
            "Requests each client (credential, else address) may send per --rate-limit-period-secs, in bursts up to as many; more get 429 / RESOURCE_EXHAUSTED. 0: off.")
        {
            HelpName = "N", Max = int.MaxValue,
        },
        new("--rate-limit-period-secs", "RateLimit:PeriodSeconds", FlagKind.Number, "1", "The rate limit's period.")
        {
            HelpName = "SECONDS", Min = 0,
        },
        new("--cors-origin", "Cors:Origins", FlagKind.Repeated, "none (CORS off)",
            "An origin browsers may call REST from (https://app.example.com), or *; repeat for several.")
        {
            HelpName = "ORIGIN",
        },
        new("--cors-method", "Cors:Methods", FlagKind.Repeated, "GET, POST", "A method CORS allows; repeat for several.")
        {
            HelpName = "METHOD",
        },
        new("--cors-header", "Cors:Headers", FlagKind.Repeated, "the v2 headers",
            "A request header CORS allows, or *; repeat for several. Default: Content-Type, Content-Encoding, Authorization, the API-key header, Inference-Header-Content-Length.")
        {
            HelpName = "HEADER",
        },

        // Logging.
        new("--log-verbose", "Logging:Verbose", FlagKind.Verbosity, "0", "Verbose logging: 1 logs debug messages, 2 and above trace messages too; 0 is off.")
        {
            HelpName = "LEVEL",
        },
        new("--log-info", "Logging:Info", FlagKind.Boolean, "true", "Log info messages."),
        new("--log-warning", "Logging:Warning", FlagKind.Boolean, "true", "Log warnings."),
        new("--log-error", "Logging:Error", FlagKind.Boolean, "true", "Log errors."),
        new("--log-format", "Logging:Format", FlagKind.Choice, "default",
            "Timestamps: default writes 2025-01-31 12:34:56.789, ISO8601 writes 2025-01-31T12:34:56.789Z (both UTC).")
        {
            Values = ["default", "ISO8601"],
        },
        new("--log-file", "Logging:File", FlagKind.Text, "none (the console)", "Write the log to this file (appended) instead of the console.")
        {
            HelpName = "PATH",
        },
        new("--log-access", "Logging:AccessLog", FlagKind.Boolean, "false",
            "Log every request at info level: method, path, status, duration (ms) and request id."),
    ];

    /// <summary>
    /// Triton's flags for features this server does not have, so a Triton command line fails naming what is missing
    /// rather than with "unknown flag". The names are those <c>tritonserver --help</c> lists.
    /// </summary>
    public static FrozenDictionary<string, UnsupportedTritonFlag> UnsupportedTriton { get; } = new Dictionary<string, UnsupportedTritonFlag>
    {
        ["--disable-auto-complete-config"] = new("turning config auto-complete off", "use --strict-model-config"),
        ["--model-config-name"] = new("custom model configuration names"),
        ["--model-load-retry-count"] = new("model load retries"),
        ["--model-namespacing"] = new("model namespacing"),
        ["--enable-peer-access"] = new("GPU peer access"),
        ["--reuse-http-port"] = new("sharing the HTTP port between servers"),
        ["--http-header-forward-pattern"] = new("forwarding HTTP headers as request parameters"),
        ["--http-thread-count"] = new("a fixed HTTP thread pool"),
        ["--reuse-grpc-port"] = new("sharing the gRPC port between servers"),
        ["--grpc-header-forward-pattern"] = new("forwarding gRPC headers as request parameters"),
        ["--grpc-infer-thread-count"] = new("a fixed pool of gRPC inference threads"),
        ["--grpc-infer-allocation-pool-size"] = new("gRPC request object pools"),
        ["--grpc-max-response-pool-size"] = new("gRPC response object pools"),
        ["--grpc-use-ssl"] = new("switching gRPC TLS on", "TLS is on when --grpc-server-cert and --grpc-server-key are given"),
        ["--grpc-use-ssl-mutual"] = new("mutual TLS (client certificates) on gRPC"),
        ["--grpc-root-cert"] = new("mutual TLS (client certificates) on gRPC"),
        ["--grpc-infer-response-compression-level"] = new("gRPC response compression levels", "use --grpc-response-compression gzip"),
        ["--grpc-keepalive-permit-without-calls"] = new("gRPC keepalive tuning"),
        ["--grpc-http2-max-pings-without-data"] = new("gRPC keepalive tuning"),
        ["--grpc-http2-min-recv-ping-interval-without-data"] = new("gRPC keepalive tuning"),
        ["--grpc-http2-max-ping-strikes"] = new("gRPC keepalive tuning"),
        ["--grpc-max-connection-age"] = new("gRPC connection age limits"),
        ["--grpc-max-connection-age-grace"] = new("gRPC connection age limits"),
        ["--allow-sagemaker"] = new("the SageMaker endpoint"),
        ["--sagemaker-port"] = new("the SageMaker endpoint"),
        ["--sagemaker-safe-port-range"] = new("the SageMaker endpoint"),
        ["--sagemaker-thread-count"] = new("the SageMaker endpoint"),
        ["--allow-vertex-ai"] = new("the Vertex AI endpoint"),
        ["--vertex-ai-port"] = new("the Vertex AI endpoint"),
        ["--vertex-ai-thread-count"] = new("the Vertex AI endpoint"),
        ["--vertex-ai-default-model"] = new("the Vertex AI endpoint"),
        ["--allow-gpu-metrics"] = new("GPU metrics"),
        ["--allow-cpu-metrics"] = new("switching CPU metrics on or off"),
        ["--metrics-interval-ms"] = new("a metrics collection interval", "metrics are read when /metrics is scraped"),
        ["--metrics-config"] = new("metrics settings"),
        ["--trace-config"] = new("request tracing"),
        ["--trace-file"] = new("request tracing"),
        ["--trace-level"] = new("request tracing"),
        ["--trace-rate"] = new("request tracing"),
        ["--trace-count"] = new("request tracing"),
        ["--trace-log-frequency"] = new("request tracing"),
        ["--cache-config"] = new("the response cache"),
        ["--cache-directory"] = new("the response cache"),
        ["--response-cache-byte-size"] = new("the response cache"),
        ["--pinned-memory-pool-byte-size"] = new("a pinned memory pool"),
        ["--cuda-memory-pool-byte-size"] = new("a CUDA memory pool"),
        ["--cuda-virtual-address-size"] = new("growable CUDA memory"),
        ["--min-supported-compute-capability"] = new("a minimum CUDA compute capability"),
        ["--buffer-manager-thread-count"] = new("buffer manager threads"),
        ["--host-policy"] = new("host policies (NUMA nodes, CPU cores)"),
        ["--model-load-gpu-limit"] = new("GPU memory limits on model loads"),
        ["--allow-client-shm"] = new("client shared memory"),
        ["--backend-directory"] = new("backend shared libraries"),
        ["--backend-config"] = new("backend settings"),
        ["--repoagent-directory"] = new("repository agents"),
    }.ToFrozenDictionary(StringComparer.Ordinal);
}
