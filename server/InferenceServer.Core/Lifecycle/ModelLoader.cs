using System.Globalization;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Models;
using InferenceServer.Core.Monitoring;
using InferenceServer.Core.Quantization;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Scheduling;
using InferenceServer.Core.Tensors;
using Microsoft.Extensions.Logging;

namespace InferenceServer.Core.Lifecycle;

/// <summary>
/// Turns a model folder into <see cref="ModelVersion"/>s: reads (or auto-completes) its config,
/// picks the backend, chooses versions by the version policy, creates the instances of each and
/// checks the config against the model file. Every failure becomes an UNAVAILABLE entry or version
/// with a reason; nothing here throws for a bad model. Each READY version gets its own
/// <see cref="ModelStatistics"/>, recording into <paramref name="metrics"/> when the server has them.
/// <paramref name="timeProvider"/> (default <see cref="TimeProvider.System"/>) is the clock of the
/// schedulers' delays, timeouts and durations.
/// </summary>
internal sealed partial class ModelLoader(IEnumerable<IModelBackend> backends, ModelLifecycleOptions options, ILogger<ModelLoader> logger,
    InferenceMetrics? metrics = null, TimeProvider? timeProvider = null, Drift.DriftMonitors? drift = null, RateLimiterHolder? rateLimiter = null)
{
    private readonly RateLimiter? _limiter = rateLimiter?.Limiter;
    private readonly IModelBackend[] _backends = backends.ToArray();
    private readonly TimeProvider _timeProvider = timeProvider ?? TimeProvider.System;
    private readonly Scheduling.QueueDefaults _queueDefaults = options.QueueDefaults();

    /// <summary>The backend parameter that sets a session's intra-op thread count (Triton's name).</summary>
    public const string IntraOpThreadCount = "intra_op_thread_count";

    /// <summary>
    /// Reads a model folder's config, backend and selected versions without loading anything, so the
    /// lifecycle can divide the machine's cores among all the instances it is about to create.
    /// </summary>
    public ModelLoadPlan Plan(ModelDirectory directory) => Plan(directory, null);

    /// <summary>
    /// As <see cref="Plan(ModelDirectory)"/>, with <paramref name="configOverride"/> (the repository
    /// API's <c>config</c> parameter) used instead of the folder's config.pbtxt when given.
    /// </summary>
    public ModelLoadPlan Plan(ModelDirectory directory, ModelConfigReadResult? configOverride)
    {
        ModelConfigReadResult? read = null;
        ModelConfig config;
        IModelBackend backend;
        try
        {
            // Before the config is read: a linked config is not opened at all.
            if (!options.RepositoryFollowSymlinks && SymbolicLinks.FirstLink(directory.Path, directory.ConfigPath ?? directory.Path) is { } link)
            {
                throw new ModelLoadException(SymbolicLinks.Refused(link));
            }
            read = configOverride ?? ReadConfig(directory);
            if (options.StrictModelConfig && read.UnknownFields.Count > 0)
            {
                // Triton refuses unknown fields outright; strict mode does too, instead of warning.
                return ModelLoadPlan.Failed(directory, ModelConfigWarning.UnknownFieldsError(read.UnknownFields, "unknown fields are errors with --strict-model-config"));
            }
            config = CheckConfig(directory, read.Config);
            backend = ChooseBackend(config, directory);
        }
        catch (ModelLoadException e)
        {
            return ModelLoadPlan.Failed(directory, ModelConfigWarning.AppendUnknownFields(Relative(directory, e.Message), read?.UnknownFields ?? []));
        }

        var selected = config.VersionPolicy.Select(directory.Versions.Keys.ToArray());
        if (selected.Count == 0)
        {
            var reason = directory.Versions.Count == 0
                ? $"model folder '{directory.Name}' has no numeric version folders"
                : $"no version folder ({string.Join(", ", directory.Versions.Keys)}) matches the version_policy";
            return ModelLoadPlan.Failed(directory, ModelConfigWarning.AppendUnknownFields(reason, read.UnknownFields));
        }
        return new ModelLoadPlan(directory, config, backend, selected, "") { UnknownFields = read.UnknownFields };
    }

    private ModelConfigReadResult ReadConfig(ModelDirectory directory)
    {
        ModelConfigReadResult config;
        if (directory.ConfigPath is null)
        {
            if (options.StrictModelConfig)
            {
                throw new ModelLoadException($"'{directory.Name}' has no {ModelRepositoryScanner.ConfigFileName} and --strict-model-config is set");
            }
            var empty = new ModelConfig { Name = directory.Name };
            ModelConfigDefaults.Apply(empty);
            config = new ModelConfigReadResult { Config = empty };
        }
        else
        {
            try
            {
                var result = ModelConfigReader.ReadFile(directory.ConfigPath, $"{directory.Name}/{ModelRepositoryScanner.ConfigFileName}", options.ConfigLimits);
                foreach (var warning in result.Warnings)
                {
                    LogConfigWarning(directory.Name, warning.ToString());
                }
                config = result;
            }
            catch (ModelConfigException e)
            {
                throw new ModelLoadException(e.Message);
            }
            catch (IOException e)
            {
                throw new ModelLoadException($"cannot read '{directory.Name}/{ModelRepositoryScanner.ConfigFileName}': {e.Message}");
            }
        }
        return config;
    }

    private ModelConfig CheckConfig(ModelDirectory directory, ModelConfig read)
    {
        if (read.Name.Length > 0 && read.Name != directory.Name)
        {
            throw new ModelLoadException($"config name '{read.Name}' does not match the model folder name '{directory.Name}'");
        }
        if (options.StrictModelConfig && (read.Input.Count == 0 || read.Output.Count == 0))
        {
            throw new ModelLoadException($"config.pbtxt of '{directory.Name}' lists no {(read.Input.Count == 0 ? "inputs" : "outputs")} and --strict-model-config is set");
        }
        // What was read stays as read; the model's name, and its groups' names derived from it, go into a copy.
        var config = read.Clone();
        config.Name = directory.Name;
        ModelConfigDefaults.NameInstanceGroups(config);
        return config;
    }

    private IModelBackend ChooseBackend(ModelConfig config, ModelDirectory directory)
    {
        foreach (var backend in _backends)
        {
            if ((config.Backend.Length > 0 && config.Backend == backend.Name) || (config.Platform.Length > 0 && config.Platform == backend.Platform))
            {
                return backend;
            }
        }
        if (config.Backend.Length > 0 || config.Platform.Length > 0)
        {
            var asked = config.Backend.Length > 0 ? $"backend '{config.Backend}'" : $"platform '{config.Platform}'";
            throw new ModelLoadException($"{asked} is not available; this server has: {string.Join(", ", _backends.Select(b => $"{b.Name} ({b.Platform})"))}");
        }
        // Neither is named: as Triton's auto-complete does, pick the backend that recognizes the
        // model file, by its extension when the config names the file, else by its default file.
        var fileName = config.DefaultModelFilename;
        foreach (var backend in _backends)
        {
            var recognized = fileName.Length > 0
                ? Path.GetExtension(fileName) == Path.GetExtension(backend.DefaultModelFilename)
                : directory.Versions.Values.Any(v => File.Exists(Path.Combine(v, backend.DefaultModelFilename)));
            if (recognized)
            {
                return backend;
            }
        }
        throw new ModelLoadException($"config names no platform or backend and no version folder holds a model file any backend recognizes ({string.Join(", ", _backends.Select(b => b.DefaultModelFilename))})");
    }

    /// <summary>
    /// Loads version <paramref name="number"/> of a plan that can load: creates its instances, checks
    /// and completes the config, runs the warm-up on every instance, and only then builds the
    /// scheduler: the version returned is READY (it has not served yet) or UNAVAILABLE with the
    /// reason. <paramref name="filesSignature"/> is what the caller saw of the version folder (computed
    /// here when null); <paramref name="owned"/> is released when the version is unloaded. Cancelling
    /// <paramref name="cancellationToken"/> stops the load between instances and between warm-up executions:
    /// what it created is released and the task ends in <see cref="OperationCanceledException"/>.
    /// </summary>
    internal Task<ModelVersion> LoadVersionAsync(ModelLoadPlan plan, long number, int intraOpThreads, string? filesSignature, IDisposable? owned,
        CancellationToken cancellationToken)
    {
        if (plan.Config is null || plan.Backend is null)
        {
            throw new ArgumentException("the plan cannot load: " + plan.FailureReason, nameof(plan));
        }
        // Session creation and warm-up are CPU-bound native work; keep them off the caller's thread.
        return Task.Run(() => LoadVersion(plan, number, intraOpThreads, filesSignature, owned, cancellationToken), cancellationToken);
    }

    /// <summary>The config as read, spelled canonically without instance counts: two configs with equal keys differ at most in those counts.</summary>
    internal static string ConfigKey(ModelConfig config)
    {
        var normalized = config.Clone();
        foreach (var group in normalized.InstanceGroup)
        {
            group.Count = 0;
        }
        return ModelConfigJson.Format(normalized);
    }

    private ModelVersion LoadVersion(ModelLoadPlan loadPlan, long number, int intraOpThreads, string? filesSignature, IDisposable? owned,
        CancellationToken cancellationToken)
    {
        var directory = loadPlan.Directory;
        var config = loadPlan.Config!;
        var backend = loadPlan.Backend!;
        var versionPath = directory.Versions[number];
        filesSignature ??= FolderSignature.Compute(versionPath);
        var fileName = config.DefaultModelFilename.Length > 0 ? config.DefaultModelFilename : backend.DefaultModelFilename;
        // The config's file name is one path segment (the validator sees to it), so the file lies in the version folder.
        var modelPath = Path.Combine(versionPath, fileName);
        if (!options.RepositoryFollowSymlinks && SymbolicLinks.FirstLink(directory.Path, modelPath) is { } link)
        {
            return Failed(directory, number, SymbolicLinks.Refused(link), config, loadPlan.UnknownFields);
        }
        if (!File.Exists(modelPath))
        {
            return Failed(directory, number, $"model file '{modelPath}' not found", config, loadPlan.UnknownFields);
        }
        var warmupSources = new WarmupSources(directory.Path, options.ModelWarmupMaxBytes, options.RepositoryFollowSymlinks);

        var groups = VersionInstances.Effective(config);
        // The config's counts were checked against the limit; a KIND_GPU group without 'gpus' is placed on every GPU the
        // backend sees, which only now is known.
        long instanceCount = 0;
        foreach (var group in groups)
        {
            instanceCount += (long)group.Count * Devices(group, backend).Count;
        }
        if (instanceCount > options.ModelMaxInstances)
        {
            return Failed(directory, number, $"the instance groups place {instanceCount} instances on this machine's devices, more than the {options.ModelMaxInstances} a model may have (--model-max-instances)",
                config, loadPlan.UnknownFields, configRefused: true);
        }
        var parameters = InstanceParameters(config, intraOpThreads);
        var byGroup = new List<List<IModelInstance>>();
        var instances = new List<IModelInstance>();
        // What each instance asks of the rate limiter, in the order of instances.
        var demands = new List<InstanceDemand>();
        var stage = "load";
        try
        {
            var startedAt = System.Diagnostics.Stopwatch.GetTimestamp();
            cancellationToken.ThrowIfCancellationRequested();
            var first = backend.CreateInstance(Options(config, groups[0], modelPath, parameters, backend));
            instances.Add(first);
            demands.Add(new InstanceDemand(groups[0].RateLimiter, Devices(groups[0], backend)[0], groups[0].Name));
            var signature = first.Signature;
            var completed = options.StrictModelConfig ? config : ConfigAutoCompleter.Complete(config, signature, backend, options.DefaultMaxBatchSize);
            var mismatch = ConfigSignatureValidator.FindMismatch(completed, signature);
            if (mismatch is not null)
            {
                DisposeAll(instances);
                return Failed(directory, number, mismatch, completed, loadPlan.UnknownFields, configRefused: true);
            }

            // A config may ask to serve a quantized variant: it is made (or taken from the cache) and checked against
            // this FP32 instance's model now, and replaces it only if the accuracy gate passes.
            stage = "quantize";
            var (precision, quantizationNote) = ("", "");
            if (Quantize(directory, number, config, completed, backend, Options(config, groups[0], modelPath, parameters, backend), warmupSources,
                    cancellationToken) is { } decision)
            {
                (precision, quantizationNote) = (decision.Precision, decision.Note);
                if (decision.ServesVariant)
                {
                    IModelInstance? variant = null;
                    try
                    {
                        variant = backend.CreateInstance(Options(config, groups[0], decision.ModelPath, parameters, backend));
                    }
                    catch (BackendException e)
                    {
                        // The gate ran it, so this is rare (another device, say); the FP32 instance made already serves on.
                        (precision, quantizationNote) = (VariantDecision.Fp32, Relative(directory, $"serving FP32: the {decision.Precision} variant does not load: {e.Message}"));
                        LogQuantizationRefused(directory.Name, number, quantizationNote);
                    }
                    if (variant is not null && ConfigSignatureValidator.FindMismatch(completed, variant.Signature) is { } changed)
                    {
                        // The config is the model's contract with its clients: a variant that changed its inputs or outputs cannot serve under it.
                        variant.Dispose();
                        (precision, quantizationNote) = (VariantDecision.Fp32, $"serving FP32: the {decision.Precision} variant does not match the config: {changed}");
                        LogQuantizationRefused(directory.Name, number, quantizationNote);
                    }
                    else if (variant is not null)
                    {
                        first.Dispose();
                        first = variant;
                        instances[0] = variant;
                        modelPath = decision.ModelPath;
                    }
                }
            }
            stage = "load";
            var firstPlaced = false;
            foreach (var group in groups)
            {
                var members = new List<IModelInstance>();
                byGroup.Add(members);
                var perDevice = Devices(group, backend);
                foreach (var device in perDevice)
                {
                    for (var i = 0; i < group.Count; i++)
                    {
                        if (!firstPlaced)
                        {
                            // The instance made first (to read the model's signature) is group 0's first.
                            members.Add(first);
                            firstPlaced = true;
                            continue;
                        }
                        cancellationToken.ThrowIfCancellationRequested();
                        var instance = backend.CreateInstance(Options(config, group, modelPath, parameters, backend) with { DeviceId = device });
                        instances.Add(instance);
                        demands.Add(new InstanceDemand(group.RateLimiter, device, group.Name));
                        members.Add(instance);
                    }
                }
            }

            // Warm-up runs on every instance before the version can take any request.
            stage = "warm up";
            var warmupExecutions = 0;
            if (completed.ModelWarmup.Count > 0)
            {
                var warmupStarted = System.Diagnostics.Stopwatch.GetTimestamp();
                using var warmup = WarmupRequests.Prepare(completed, warmupSources);
                foreach (var instance in instances)
                {
                    warmupExecutions += warmup.Run(instance, cancellationToken);
                }
                LogWarmedUp(directory.Name, number, completed.ModelWarmup.Count, instances.Count, warmupExecutions,
                    System.Diagnostics.Stopwatch.GetElapsedTime(warmupStarted).TotalMilliseconds);
            }

            var statistics = new ModelStatistics(directory.Name, number.ToString(CultureInfo.InvariantCulture), completed.MaxBatchSize, metrics);
            var driftProblem = "drift monitoring is off on this server";
            ResourceLease?[]? leases = null;
            if (_limiter is not null)
            {
                leases = _limiter.TryRegister(directory.Name, demands, out var problem);
                if (leases is null)
                {
                    statistics.Dispose();
                    throw new ModelLoadException(problem!);
                }
            }
            var scheduler = CreateScheduler(directory.Name, completed, instances, statistics, leases);
            var loadDuration = System.Diagnostics.Stopwatch.GetElapsedTime(startedAt);
            statistics.VersionLoaded(loadDuration);
            LogVersionLoaded(directory.Name, number, backend.Name, instances.Count, Describe(completed.Input, completed), Describe(completed.Output, completed),
                loadDuration.TotalMilliseconds);
            var monitor = drift?.Create(directory.Name, number, directory.Path, versionPath, loadPlan.View, completed.MaxBatchSize > 0, out driftProblem);
            statistics.Precision = precision;
            return ModelVersion.Loaded(directory.Name, number, completed, scheduler, statistics, ConfigKey(config), filesSignature,
                new VersionInstances(backend, modelPath, parameters, config.Optimization?.Graph?.Level, groups, byGroup) { Warmup = warmupSources, Declared = ConfigDeclaredSignature.From(config) }, owned, warmupExecutions,
                monitor, driftProblem, monitor is null ? null : drift!.Retired, precision, quantizationNote);
        }
        catch (OperationCanceledException)
        {
            DisposeAll(instances);
            throw;
        }
        catch (BackendException e)
        {
            DisposeAll(instances);
            // A backend's own refusal of a config value (a thread count, an execution mode, an accelerator's parameter)
            // is InvalidArgument without a runtime code; one the runtime reports has its code and may be the model file's.
            return Failed(directory, number, $"failed to {stage} '{modelPath}': {e.Message}", config, loadPlan.UnknownFields,
                configRefused: e.Kind == InferenceErrorKind.InvalidArgument && e.Code is null);
        }
        catch (ModelLoadException e)
        {
            DisposeAll(instances);
            return Failed(directory, number, e.Message, config, loadPlan.UnknownFields);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or ArgumentException or OverflowException)
        {
            DisposeAll(instances);
            return Failed(directory, number, $"failed to {stage} '{modelPath}': {e.Message}", config, loadPlan.UnknownFields);
        }
    }

    // The variant the config's 'quantize' parameters ask for, decided; null when they ask for none. Parameters that cannot be
    // read keep FP32 serving too: the model itself is fine, and the reason says what to fix.
    private VariantDecision? Quantize(ModelDirectory directory, long number, ModelConfig config, ModelConfig completed, IModelBackend backend, InstanceOptions parent,
        WarmupSources warmup, CancellationToken cancellationToken)
    {
        QuantizeParameters? request;
        try
        {
            request = QuantizeParameters.Read(config.StringParameters());
        }
        catch (QuantizationException e)
        {
            var note = $"serving FP32: {e.Message}";
            LogQuantizationRefused(directory.Name, number, note);
            return new VariantDecision(parent.ModelPath, VariantDecision.Fp32, note, null, false);
        }
        if (request is null)
        {
            return null;
        }
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var decision = LoadTimeQuantization.Decide(request, directory.Path, number, completed, backend, parent, warmup, cancellationToken);
        decision = decision with { Note = Relative(directory, decision.Note) };
        var milliseconds = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if (decision.ServesVariant)
        {
            LogQuantizationServed(directory.Name, number, decision.Precision, decision.Reused ? "reused from the cache" : "made", decision.Gate!.Summary(), milliseconds);
        }
        else
        {
            LogQuantizationRefused(directory.Name, number, decision.Note);
        }
        return decision;
    }

    // One engine for every model, as in Triton: it batches when the model batches and has dynamic_batching, and is
    // otherwise Triton's default scheduler (one request per instance at a time).
    // With the rate limiter on, the instances' places in it (registered by the caller) go with them. A request that finds
    // a quick instance idle, its thread asleep for a while, runs on its caller's thread: the hand-off to the instance's
    // thread costs a thread crossing each way and the thread's spin, most of a lone client's CPU per request
    // (benchmarks/RESULTS.md, issue 11).
    private IScheduler CreateScheduler(string name, ModelConfig config, List<IModelInstance> instances, ISchedulerObserver observer, ResourceLease?[]? leases) =>
        new ModelScheduler(name, config.MaxBatchSize, config.DynamicBatching, instances, _timeProvider, observer, _queueDefaults, _limiter, leases,
            ModelScheduler.CallerRunLimit, lendAfterAsleep: ModelScheduler.CallerIdleLimit);

    private static IReadOnlyDictionary<string, string> InstanceParameters(ModelConfig config, int intraOpThreads)
    {
        var parameters = config.StringParameters();
        parameters.TryAdd(IntraOpThreadCount, intraOpThreads.ToString(CultureInfo.InvariantCulture));
        return parameters;
    }

    private static InstanceOptions Options(ModelConfig config, ModelInstanceGroup group, string modelPath, IReadOnlyDictionary<string, string> parameters,
        IModelBackend backend) =>
        new(modelPath, group.Kind.ToInstanceKind(), Devices(group, backend)[0], parameters)
        {
            GraphOptimizationLevel = config.Optimization?.Graph?.Level,
            GpuExecutionAccelerators = config.Optimization?.ExecutionAccelerators?.GpuExecutionAccelerator ?? [],
            CpuExecutionAccelerators = config.Optimization?.ExecutionAccelerators?.CpuExecutionAccelerator ?? [],
            Declared = ConfigDeclaredSignature.From(config),
        };

    // As in Triton: a KIND_GPU group places its count on each listed GPU, or on every GPU the backend
    // sees when none is listed. Device 0 when it sees none, so the backend reports why it cannot run there.
    private static IReadOnlyList<int> Devices(ModelInstanceGroup group, IModelBackend backend) =>
        group.Kind != ModelInstanceGroup.Types.Kind.Gpu ? [0]
        : group.Gpus.Count > 0 ? group.Gpus
        : backend.GpuDevices.Count > 0 ? backend.GpuDevices
        : [0];

    private ModelVersion Failed(ModelDirectory directory, long number, string reason, ModelConfig? config, IReadOnlyList<ModelConfigWarning> unknownFields,
        bool configRefused = false)
    {
        // A misspelt field is the likeliest cause of a failure it precedes: the reason names what was ignored.
        reason = ModelConfigWarning.AppendUnknownFields(Relative(directory, reason), unknownFields);
        LogVersionFailed(directory.Name, number, reason);
        return ModelVersion.Failed(directory.Name, number, reason, config, configRefused);
    }

    // A reason reaches clients (the repository index, load errors, 503 answers), so it names files relative to the
    // repository (income/1/model.onnx), never by the server's absolute path. Every file a model loads lies in its folder,
    // and messages from the file system and the backend quote the paths they were given.
    private static string Relative(ModelDirectory directory, string reason) =>
        reason.Replace(directory.Path, directory.Name, StringComparison.Ordinal);

    private static void DisposeAll(List<IModelInstance> instances)
    {
        foreach (var instance in instances)
        {
            instance.Dispose();
        }
    }

    private static string Describe(IReadOnlyList<IModelTensor> tensors, ModelConfig config) =>
        string.Join(", ", tensors.Select(t => $"{t.Name} {t.ElementType().ProtocolName()} {ShapeMath.Format(Inference.RequestValidator.ExpectedShape(config, t))}"));

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded model '{Model}' version {Version} on {Backend} with {Instances} instance(s) in {Milliseconds:F0} ms; inputs: {Inputs}; outputs: {Outputs}")]
    private partial void LogVersionLoaded(string model, long version, string backend, int instances, string inputs, string outputs, double milliseconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Warmed up model '{Model}' version {Version}: {Samples} sample(s) on {Instances} instance(s), {Executions} execution(s) in {Milliseconds:F0} ms")]
    private partial void LogWarmedUp(string model, long version, int samples, int instances, int executions, double milliseconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model '{Model}' version {Version} serves its {Precision} variant ({How}), which {Gate}; decided in {Milliseconds:F0} ms")]
    private partial void LogQuantizationServed(string model, long version, string precision, string how, string gate, double milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model '{Model}' version {Version}: {Reason}")]
    private partial void LogQuantizationRefused(string model, long version, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Model '{Model}' version {Version} is UNAVAILABLE: {Reason}")]
    private partial void LogVersionFailed(string model, long version, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model '{Model}': {Warning}")]
    private partial void LogConfigWarning(string model, string warning);
}
