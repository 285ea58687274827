using InferenceServer.Core.Repository;

namespace InferenceServer.Core.Lifecycle;

/// <summary>
/// Settings of the model lifecycle, bound from configuration (<c>Server</c> section) and the command line. Not sealed: a
/// host's options type for the whole section extends it with its own settings.
/// </summary>
public class ModelLifecycleOptions
{
    /// <summary>The <c>--load-model</c> name that loads every model of the repositories (Triton's).</summary>
    public const string AllModels = "*";

    /// <summary>
    /// <c>--model-repository</c> (repeatable): the folders holding one sub-folder per model. The models of all of them are
    /// served; as in Triton, a name found in two or more of them is not loaded. The host fills this from
    /// <c>Server:ModelRepository</c> (one path, or a list).
    /// </summary>
    public IList<string> ModelRepositories { get; set; } = [];

    /// <summary><c>--model-control-mode</c>.</summary>
    public ModelControlMode ModelControlMode { get; set; } = ModelControlMode.None;

    /// <summary><c>--strict-model-config</c>: refuse models whose config.pbtxt is missing or incomplete instead of completing it from the model file.</summary>
    public bool StrictModelConfig { get; set; }

    /// <summary><c>--load-model</c>: in explicit mode, the models to load at startup; <c>*</c> loads every model of the repositories.</summary>
    public IList<string> LoadModels { get; set; } = [];

    /// <summary>
    /// <c>--strict-readiness</c> (Triton's default, true): the server is ready only when every model it was asked to load
    /// serves (see <see cref="ServerReadiness"/>); false: ready once the startup load is done, whatever each model's outcome.
    /// </summary>
    public bool StrictReadiness { get; set; } = true;

    /// <summary><c>--exit-on-error</c> (Triton's default, true): the server exits when a model it was asked to load at startup does not load.</summary>
    public bool ExitOnError { get; set; } = true;

    /// <summary><c>--model-load-thread-count</c>: how many models load at the same time (Triton's default is 4); versions of one model load one after another.</summary>
    public int ModelLoadThreadCount { get; set; } = 4;

    /// <summary><c>--repository-poll-secs</c>: in poll mode, how often the repository is rescanned as the fallback to file-system events (Triton's default is 15); 0: events only.</summary>
    public double RepositoryPollSeconds { get; set; } = 15;

    /// <summary>
    /// <c>--repository-poll-quiet-ms</c>: in poll mode, how long a version folder's files (and config.pbtxt) must stay
    /// unchanged before it counts as completely written and is loaded.
    /// </summary>
    public int RepositoryPollQuietMilliseconds { get; set; } = 2000;

    /// <summary>
    /// <c>--repository-poll-marker</c>: in poll mode, when set, a version folder counts as complete only once it holds a
    /// file of this name (written last by whatever copies models in), instead of by the quiet interval.
    /// </summary>
    public string RepositoryPollMarker { get; set; } = "";

    /// <summary>Where model files uploaded through the repository API are written (a fresh folder per load); the system temp folder when empty.</summary>
    public string UploadDirectory { get; set; } = "";

    /// <summary>
    /// <c>--repository-follow-symlinks</c>: load models whose folder, version folders, config, model files or warm-up
    /// files are symbolic links. Off by default: a link can point anywhere on the machine, so a repository that clients can
    /// write to (or that a config names files in) would otherwise serve files from outside it.
    /// </summary>
    public bool RepositoryFollowSymlinks { get; set; }

    /// <summary>
    /// <c>--model-max-instances</c>: the most instances one version of a model may have, summed over its instance
    /// groups (a KIND_GPU group counts once per GPU it lists). Each instance is a session holding the model's weights.
    /// </summary>
    public int ModelMaxInstances { get; set; } = 64;

    /// <summary><c>--model-warmup-max-count</c>: the largest <c>count</c> a <c>model_warmup</c> sample may ask for.</summary>
    public int ModelWarmupMaxCount { get; set; } = 1000;

    /// <summary>
    /// <c>--model-warmup-max-bytes</c>: the most data one input of a <c>model_warmup</c> sample may make (its dims times the
    /// element size times <c>batch_size</c>, or its data file's size).
    /// </summary>
    public long ModelWarmupMaxBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// <c>--model-load-timeout-secs</c>: the longest one model's load (instances created, warm-up run) may take; past it
    /// the load is cancelled and what served keeps serving. 0: no limit.
    /// </summary>
    public double ModelLoadTimeoutSeconds { get; set; } = 600;

    /// <summary><c>--model-upload-max-bytes</c>: the most bytes of model files one repository-API load may upload.</summary>
    public long ModelUploadMaxBytes { get; set; } = 1024L * 1024 * 1024;

    /// <summary>
    /// <c>--model-upload-max-total-bytes</c>: the most bytes of uploaded model files the upload folder may hold at once,
    /// over every model loaded from uploads (an upload's files are deleted once nothing loaded from them is alive).
    /// </summary>
    public long ModelUploadMaxTotalBytes { get; set; } = 4L * 1024 * 1024 * 1024;

    /// <summary>The <c>max_batch_size</c> auto-complete gives a model that can batch but whose config says nothing (Triton's default is 4).</summary>
    public int DefaultMaxBatchSize { get; set; } = 4;

    /// <summary>The bounds every config is held to (<see cref="ModelMaxInstances"/> and the warm-up's).</summary>
    internal ModelConfigLimits ConfigLimits => new(ModelMaxInstances, ModelWarmupMaxCount, ModelWarmupMaxBytes);

    /// <summary>
    /// <c>--max-queue-batches</c>: a model whose queue policy sets no max_queue_size sheds load once its queue is
    /// overloaded (the oldest request has waited <see cref="Scheduling.QueueDefaults.ShedAfter"/>): it then holds at
    /// most this many batches per instance (max_batch_size requests with dynamic batching, one without) and refuses the
    /// rest at once (503 with Retry-After, gRPC UNAVAILABLE); 0: never, as in Triton. One batch waiting per instance is
    /// what keeps every instance busy; each one more adds an execution to the wait of every request accepted.
    /// </summary>
    public int MaxQueueBatches { get; set; } = 1;

    /// <summary>
    /// <c>--max-queue-wait-ms</c>: how long a request may wait in a model's queue when its queue policy sets no
    /// default_timeout_microseconds (a request's own timeout or gRPC deadline may shorten it); past it the request leaves
    /// the queue unrun and is answered 503 / UNAVAILABLE, as Triton answers a queue timeout. 0: no limit, as in Triton.
    /// </summary>
    public int MaxQueueWaitMilliseconds { get; set; } = 1000;

    /// <summary>The <see cref="RateLimit"/> that leaves instances to run whenever they are idle (Triton's default).</summary>
    public const string RateLimitOff = "off";

    /// <summary>The <see cref="RateLimit"/> that enforces the instance groups' <c>rate_limiter</c> resources and priorities.</summary>
    public const string RateLimitExecutionCount = "execution_count";

    /// <summary>
    /// <c>--rate-limit</c>: <c>off</c> (the default, as in Triton) or <c>execution_count</c>, under which an instance whose
    /// group declares <c>rate_limiter</c> resources runs only while it holds them, and instances waiting for them take
    /// turns weighted by their <c>priority</c>.
    /// </summary>
    public string RateLimit { get; set; } = RateLimitOff;

    /// <summary>
    /// <c>--rate-limit-resource</c> (repeatable): <c>name:count</c> or <c>name:count:device</c>, the copies of a resource
    /// (on every device, or on one); a resource not given has as many as the largest count one instance asks for.
    /// </summary>
    public IList<string> RateLimitResources { get; set; } = [];

    /// <summary>The server's rate limiter as these settings describe it; null when <see cref="RateLimit"/> is off.</summary>
    internal Scheduling.RateLimiter? CreateRateLimiter() =>
        RateLimit == RateLimitExecutionCount ? new Scheduling.RateLimiter(RateLimitResources.Select(Scheduling.RateLimitResource.Parse)) : null;
    /// <summary>
    /// <c>--model-memory-budget</c>: the CPU memory the loaded models may hold together, in bytes (<c>8Gi</c>, <c>512Mi</c>
    /// also read) or as a fraction of the machine's RAM (<c>0.75</c>); empty: no budget. A load that would go past it first
    /// evicts the least recently used unpinned models (<see cref="Residency.EvictionPolicy"/>), else fails naming the sizes.
    /// </summary>
    public string ModelMemoryBudget { get; set; } = "";

    /// <summary><see cref="ModelMemoryBudgetCounts"/>: the budget holds what the loaded models are charged, nothing else.</summary>
    public const string BudgetCountsModels = "models";

    /// <summary><see cref="ModelMemoryBudgetCounts"/>: the budget holds the process's resident memory above the empty server's.</summary>
    public const string BudgetCountsProcess = "process";

    /// <summary>
    /// <c>--model-memory-budget-counts</c>: what <see cref="ModelMemoryBudget"/> bounds. <c>models</c> (the default): the sum
    /// of what the loaded models are charged. <c>process</c>: the process's resident memory above what it held before its
    /// first model load, so the server's own growth under traffic (the GC's heap, the C allocator's arenas, code pages) is
    /// counted too: loads make room for it, and when it alone pushes the process over, idle models are evicted
    /// (<see cref="Residency.ServerMemory"/>). Only for a server alone in its process.
    /// </summary>
    public string ModelMemoryBudgetCounts { get; set; } = BudgetCountsModels;

    /// <summary><c>--gpu-memory-budget</c> (repeatable): <c>&lt;device&gt;:&lt;bytes|fraction&gt;</c>, the device memory the models may hold on one GPU.</summary>
    public IList<string> GpuMemoryBudgets { get; set; } = [];

    /// <summary>
    /// <c>--eviction-min-idle</c>: a model used within this many seconds is never evicted to make room for one that is not
    /// loaded (the anti-thrash window); the cold model's load waits until one leaves the window, as long as its requests
    /// wait (<see cref="ColdStartTimeoutMilliseconds"/>). 0: evict by LRU alone. The default, 1 s, keeps a model that was
    /// just loaded for the requests that waited for it; a longer window freezes the loaded set whenever every loaded model
    /// sees a request that often (200 models under Zipf traffic of a few hundred requests a second do).
    /// </summary>
    public double EvictionMinIdleSeconds { get; set; } = 1;

    /// <summary>
    /// <c>--model-memory-estimate-factor</c>: before a version's first load its footprint is estimated as its files' size
    /// times this; the load's measurement replaces it. Measured here: ONNX Runtime's resident growth is the file size within 2% for MatMul models of 20 and 50 MB.
    /// </summary>
    public double ModelMemoryEstimateFactor { get; set; } = 1.2;

    /// <summary>
    /// <c>--cold-start-queue-size</c>: in on-demand mode, the most requests that may wait at once for models to load, over
    /// all models; past it a request is answered 503 with Retry-After at once.
    /// </summary>
    public int ColdStartQueueSize { get; set; } = 256;

    /// <summary>
    /// <c>--cold-start-timeout-ms</c>: in on-demand mode, how long a request waits for its model to load; past it the request
    /// is answered 503 with Retry-After (the load goes on, so a retry finds the model loaded).
    /// </summary>
    public int ColdStartTimeoutMilliseconds { get; set; } = 30_000;

    /// <summary>The queue policy the server gives what a model's config leaves unset.</summary>
    public Scheduling.QueueDefaults QueueDefaults() => new(MaxQueueBatches, MaxQueueWaitMilliseconds * 1000L);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting that is out of range.</summary>
    public virtual void Validate()
    {
        if (ModelLoadThreadCount < 1)
        {
            throw new ArgumentException($"Server:ModelLoadThreadCount {ModelLoadThreadCount} is not valid; expected 1 or more");
        }
        if (!double.IsFinite(RepositoryPollSeconds) || RepositoryPollSeconds < 0)
        {
            throw new ArgumentException($"Server:RepositoryPollSeconds {RepositoryPollSeconds} is not valid; expected 0 (events only) or more");
        }
        if (RepositoryPollQuietMilliseconds < 0)
        {
            throw new ArgumentException($"Server:RepositoryPollQuietMilliseconds {RepositoryPollQuietMilliseconds} is not valid; expected 0 or more");
        }
        if (MaxQueueBatches < 0)
        {
            throw new ArgumentException($"Server:MaxQueueBatches {MaxQueueBatches} is not valid; expected 0 (unbounded) or more");
        }
        if (MaxQueueWaitMilliseconds < 0)
        {
            throw new ArgumentException($"Server:MaxQueueWaitMilliseconds {MaxQueueWaitMilliseconds} is not valid; expected 0 (no limit) or more");
        }
        if (!Enum.IsDefined(ModelControlMode))
        {
            throw new ArgumentException($"Server:ModelControlMode '{ModelControlMode}' is not valid; expected none, poll, explicit or ondemand");
        }
        if (ModelMemoryBudget.Length > 0 && !Residency.MemorySize.TryParse(ModelMemoryBudget, out _, out var budgetProblem))
        {
            throw new ArgumentException($"Server:ModelMemoryBudget '{ModelMemoryBudget}' is not valid; expected {budgetProblem}");
        }
        if (ModelMemoryBudgetCounts is not (BudgetCountsModels or BudgetCountsProcess))
        {
            throw new ArgumentException($"Server:ModelMemoryBudgetCounts '{ModelMemoryBudgetCounts}' is not valid; expected {BudgetCountsModels} or {BudgetCountsProcess}");
        }
        var gpus = new HashSet<int>();
        foreach (var text in GpuMemoryBudgets)
        {
            if (!Residency.GpuMemoryBudget.TryParse(text, out var gpu, out var gpuProblem))
            {
                throw new ArgumentException($"Server:GpuMemoryBudgets '{text}' is not valid; expected {gpuProblem}");
            }
            if (!gpus.Add(gpu.Device))
            {
                throw new ArgumentException($"Server:GpuMemoryBudgets names GPU {gpu.Device} twice; expected one budget per device");
            }
        }
        if (!double.IsFinite(EvictionMinIdleSeconds) || EvictionMinIdleSeconds < 0 || EvictionMinIdleSeconds > int.MaxValue / 1000.0)
        {
            throw new ArgumentException($"Server:EvictionMinIdleSeconds {EvictionMinIdleSeconds} is not valid; expected 0 (LRU alone) to {int.MaxValue / 1000}");
        }
        if (!double.IsFinite(ModelMemoryEstimateFactor) || ModelMemoryEstimateFactor < 0.1 || ModelMemoryEstimateFactor > 100)
        {
            throw new ArgumentException($"Server:ModelMemoryEstimateFactor {ModelMemoryEstimateFactor} is not valid; expected 0.1 to 100");
        }
        if (ColdStartQueueSize < 1)
        {
            throw new ArgumentException($"Server:ColdStartQueueSize {ColdStartQueueSize} is not valid; expected 1 or more");
        }
        if (ColdStartTimeoutMilliseconds < 1)
        {
            throw new ArgumentException($"Server:ColdStartTimeoutMilliseconds {ColdStartTimeoutMilliseconds} is not valid; expected 1 or more");
        }
        if (ModelMaxInstances < 1)
        {
            throw new ArgumentException($"Server:ModelMaxInstances {ModelMaxInstances} is not valid; expected 1 or more");
        }
        if (ModelWarmupMaxCount < 1)
        {
            throw new ArgumentException($"Server:ModelWarmupMaxCount {ModelWarmupMaxCount} is not valid; expected 1 or more");
        }
        if (ModelWarmupMaxBytes < 1 || ModelWarmupMaxBytes > Array.MaxLength)
        {
            // A sample's inputs are arrays: what one can hold bounds the setting.
            throw new ArgumentException($"Server:ModelWarmupMaxBytes {ModelWarmupMaxBytes} is not valid; expected 1 to {Array.MaxLength}");
        }
        if (!double.IsFinite(ModelLoadTimeoutSeconds) || ModelLoadTimeoutSeconds < 0 || ModelLoadTimeoutSeconds > int.MaxValue / 1000.0)
        {
            throw new ArgumentException($"Server:ModelLoadTimeoutSeconds {ModelLoadTimeoutSeconds} is not valid; expected 0 (no limit) to {int.MaxValue / 1000}");
        }
        if (ModelUploadMaxBytes < 1)
        {
            throw new ArgumentException($"Server:ModelUploadMaxBytes {ModelUploadMaxBytes} is not valid; expected 1 or more");
        }
        if (ModelUploadMaxTotalBytes < ModelUploadMaxBytes)
        {
            throw new ArgumentException($"Server:ModelUploadMaxTotalBytes {ModelUploadMaxTotalBytes} is not valid; expected at least Server:ModelUploadMaxBytes ({ModelUploadMaxBytes})");
        }
        if (RateLimit is not (RateLimitOff or RateLimitExecutionCount))
        {
            throw new ArgumentException($"Server:RateLimit '{RateLimit}' is not valid; expected {RateLimitOff} or {RateLimitExecutionCount}");
        }
        foreach (var resource in RateLimitResources)
        {
            // Throws naming the entry and what is wrong with it.
            Scheduling.RateLimitResource.Parse(resource);
        }
        if (LoadModels.Count > 1 && LoadModels.Contains(AllModels))
        {
            throw new ArgumentException($"Server:LoadModels: '{AllModels}' loads every model and cannot be given with other names");
        }
    }
}
