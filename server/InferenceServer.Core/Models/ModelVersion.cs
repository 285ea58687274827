using System.Diagnostics;
using System.Globalization;
using Google.Protobuf.Collections;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Drift;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Monitoring;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Scheduling;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Models;

/// <summary>
/// One version of a model and its lifecycle. A version is built LOADING (instances created, warm-up
/// run) and enters a snapshot only once READY; when the version policy retires it, or its model is
/// unloaded, it turns UNLOADING: it takes no new requests, finishes those it accepted, then
/// releases its instances (and their native memory) and ends UNAVAILABLE with the reason
/// "unloaded". A version that failed to load is UNAVAILABLE from the start, with its reason.
/// </summary>
internal sealed class ModelVersion : IAsyncDisposable
{
    // _leases counts the requests inside InferAsync; this bit, once set, refuses new ones.
    private const int RetiredBit = 1 << 30;

    private readonly IScheduler? _scheduler;
    private readonly TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _retireLock = new();
    private readonly string[] _allOutputNames = [];
    private volatile ModelState _state;
    private volatile string _reason;
    private volatile ModelConfig? _config;
    private int _leases;
    private int _instanceCount;
    private long _memoryBytes;
    private long _lastUsedMs = Environment.TickCount64;
    private Residency.VersionFootprint _footprint = Residency.VersionFootprint.None;
    private Task? _retirement;

    private ModelVersion(string name, long version, ModelState state, string reason, ModelConfig? config, IScheduler? scheduler, int instanceCount, ModelStatistics? statistics)
    {
        Name = name;
        Version = version;
        VersionText = version.ToString(CultureInfo.InvariantCulture);
        _state = state;
        _reason = reason;
        _config = config;
        _scheduler = scheduler;
        _instanceCount = instanceCount;
        Statistics = statistics;
        if (config is not null)
        {
            _allOutputNames = config.Output.Select(o => o.Name).ToArray();
        }
    }

    /// <summary>Model name.</summary>
    public string Name { get; }

    /// <summary>Version number (the folder name).</summary>
    public long Version { get; }

    /// <summary>Version number as the protocols spell it.</summary>
    public string VersionText { get; }

    /// <summary>READY while it serves; UNLOADING while a retired version drains; UNAVAILABLE when it failed to load or was unloaded.</summary>
    public ModelState State => _state;

    /// <summary>Why the version is not READY; empty when it is.</summary>
    public string Reason => _reason;

    /// <summary>The completed config (what <c>/config</c> returns); null when loading failed before it was known.</summary>
    public ModelConfig? Config => _config;

    /// <summary>How many instances serve this version (changes when instance_group counts change in place).</summary>
    public int InstanceCount => Volatile.Read(ref _instanceCount);

    /// <summary>
    /// The memory its instances report holding (<see cref="IModelInstance.MemoryBytes"/>), summed; it follows in-place
    /// resizes and drops to 0 once a retired version has released its instances.
    /// </summary>
    public long MemoryBytes => Volatile.Read(ref _memoryBytes);

    /// <summary>
    /// The memory measured across this version's load (resident growth of the process, device memory per GPU), charged
    /// against the memory budgets; <see cref="Residency.VersionFootprint.None"/> until measured and once released.
    /// </summary>
    internal Residency.VersionFootprint Footprint
    {
        get => Volatile.Read(ref _footprint);
        set => Volatile.Write(ref _footprint, value);
    }

    /// <summary>The reason the index gives once the version has unloaded: "unloaded", or why it was (an eviction says so).</summary>
    internal string UnloadedReason { get; set; } = "unloaded";

    /// <summary>When a request last entered (or the version loaded), in <see cref="Environment.TickCount64"/> milliseconds: the LRU order of eviction.</summary>
    internal long LastUsedMs => Volatile.Read(ref _lastUsedMs);

    /// <summary>True while a request admitted by <see cref="TryEnter"/> has not exited.</summary>
    internal bool InUse => (Volatile.Read(ref _leases) & ~RetiredBit) > 0;

    /// <summary>What this version has served (the statistics extension, the metrics); null unless it loaded.</summary>
    public ModelStatistics? Statistics { get; }

    /// <summary>How many warm-up executions ran on this version's instances before it took traffic.</summary>
    public int WarmupExecutions { get; internal set; }

    /// <summary>The config as read (before completion), spelled canonically with instance counts left out: equal keys mean only the counts may differ.</summary>
    internal string ConfigKey { get; init; } = "";

    /// <summary>The version folder's <see cref="FolderSignature"/> when it was loaded.</summary>
    internal string FilesSignature { get; init; } = "";

    /// <summary>The instances by group, for in-place resizing; null for versions built outside the loader.</summary>
    internal VersionInstances? Instances { get; init; }

    /// <summary>Drift monitoring of this version against its training profile; null when there is none (see <see cref="DriftProblem"/>).</summary>
    internal DriftMonitor? Drift { get; init; }

    /// <summary>Told when the version retires, so its drift series go (set with <see cref="Drift"/>).</summary>
    internal Action<DriftMonitor>? DriftRetired { get; init; }

    /// <summary>Why <see cref="Drift"/> is null, for the drift report's error; empty when it is not.</summary>
    internal string DriftProblem { get; init; } = "";

    /// <summary>
    /// The precision the version serves when its config asked for a quantized variant: the method (<c>int8-dynamic</c>) when
    /// the variant passed the accuracy gate, <c>fp32</c> when it did not; empty when the config asked for none.
    /// </summary>
    internal string Precision { get; init; } = "";

    /// <summary>Why a READY version serves FP32 although its config asked for a variant; empty otherwise. The index shows it as the reason.</summary>
    internal string QuantizationNote { get; init; } = "";

    /// <summary>Released once the version's instances are gone (e.g. the temporary folder of uploaded model files).</summary>
    internal IDisposable? Owned { get; init; }

    /// <summary>A version that serves; <paramref name="statistics"/> should be the scheduler's observer (a fresh, unmetered one when null).</summary>
    public static ModelVersion Ready(string name, long version, ModelConfig config, IScheduler scheduler, int instanceCount, ModelStatistics? statistics = null) =>
        new(name, version, ModelState.Ready, "", config, scheduler, instanceCount,
            statistics ?? new ModelStatistics(name, version.ToString(CultureInfo.InvariantCulture), config.MaxBatchSize));

    /// <summary>A version the loader built: READY, with what lifecycle changes need to know about it.</summary>
    internal static ModelVersion Loaded(string name, long version, ModelConfig config, IScheduler scheduler, ModelStatistics statistics,
        string configKey, string filesSignature, VersionInstances instances, IDisposable? owned, int warmupExecutions,
        DriftMonitor? drift = null, string driftProblem = "", Action<DriftMonitor>? driftRetired = null, string precision = "", string quantizationNote = "") =>
        new(name, version, ModelState.Ready, "", config, scheduler, instances.Count, statistics)
        {
            Precision = precision,
            QuantizationNote = quantizationNote,
            Drift = drift,
            DriftProblem = driftProblem,
            DriftRetired = driftRetired,
            ConfigKey = configKey,
            FilesSignature = filesSignature,
            Instances = instances,
            Owned = owned,
            WarmupExecutions = warmupExecutions,
            _memoryBytes = instances.MemoryBytes(),
        };

    /// <summary>
    /// A version that failed to load; <paramref name="configRefused"/> when it failed on what its config asks for (see
    /// <see cref="ConfigRefused"/>).
    /// </summary>
    public static ModelVersion Failed(string name, long version, string reason, ModelConfig? config = null, bool configRefused = false) =>
        new(name, version, ModelState.Unavailable, reason, config, null, 0, null) { ConfigRefused = configRefused };

    /// <summary>
    /// The version failed to load because of what its config asks for, not because of the server or the model's files: a
    /// parameter the backend refuses, more instances than the machine's devices allow, inputs or outputs the model does
    /// not have. A load whose config came with the request is then the client's error (400 / INVALID_ARGUMENT).
    /// </summary>
    internal bool ConfigRefused { get; private init; }

    /// <summary>
    /// Validates the request against the config, runs it and returns the outputs it asked for.
    /// Fails (Unavailable) once the version is retired; the front door then runs the request on the
    /// version that replaced it instead.
    /// </summary>
    public Task<InferenceResponse> InferAsync(InferenceRequest request, CancellationToken cancellationToken) =>
        TryEnter() ? RunEnteredAsync(request, cancellationToken) : Task.FromException<InferenceResponse>(NotServing());

    /// <summary>Runs a request admitted by <see cref="TryEnter"/>, ending its admission when it is done.</summary>
    internal async Task<InferenceResponse> RunEnteredAsync(InferenceRequest request, CancellationToken cancellationToken)
    {
        var config = _config!;
        var statistics = Statistics!;
        var startedAt = Stopwatch.GetTimestamp();
        var scheduled = false;
        var drift = Drift;
        try
        {
            RequestValidator.Validate(config, request, Instances?.TextStrings ?? false);
            ApplyInputReshapes(config, request);
            // After validation (a refused request is not traffic) and before scheduling, which may release the inputs.
            var sampled = drift is not null ? drift.Starting(request) : DriftMonitor.Release(request);

            IReadOnlyList<string> outputNames = request.RequestedOutputs.Count > 0 ? request.RequestedOutputs : _allOutputNames;
            var work = new SchedulerWork(request.Inputs, outputNames, request.Priority, request.TimeoutMicroseconds);
            scheduled = true;
            var outputs = await _scheduler!.ScheduleAsync(work, cancellationToken).ConfigureAwait(false);
            scheduled = false;
            ApplyOutputReshapes(config, outputs);
            if (sampled)
            {
                drift!.Answered(outputs);
            }
            var response = new InferenceResponse(Name, VersionText, request.Id, outputs);
            statistics.InferenceSucceeded(BatchSize(config, request), Stopwatch.GetElapsedTime(startedAt));
            return response;
        }
        catch (Exception)
        {
            // A failure inside the scheduler was counted there, with its reason; any other is OTHER.
            statistics.InferenceFailed(Stopwatch.GetElapsedTime(startedAt), reportedByScheduler: scheduled);
            throw;
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>
    /// The refusal a request would get now from a full queue, decided before the request is read (see
    /// <see cref="IScheduler.RefuseBeforeReading"/>) and counted as a failed request; null when it may be admitted.
    /// </summary>
    internal string? RefuseBeforeReading()
    {
        if (_scheduler?.RefuseBeforeReading() is not { } refusal)
        {
            return null;
        }
        Statistics?.InferenceFailed(TimeSpan.Zero, reportedByScheduler: true);
        return refusal;
    }

    /// <summary>The failure a request gets from a version that does not (or no longer) serve.</summary>
    internal InferenceException NotServing() => _scheduler is null
        ? new InferenceException(InferenceErrorKind.Unavailable, $"model '{Name}' version {VersionText} is not ready: {Reason}")
        : new InferenceException(InferenceErrorKind.Unavailable, $"model '{Name}' version {VersionText} is unloading and takes no new requests");

    /// <summary>
    /// Admits a request unless the version is retired (or never loaded). Once admitted, the request
    /// runs to the end even if the version is retired meanwhile: retirement waits for it.
    /// </summary>
    internal bool TryEnter()
    {
        if (_scheduler is null)
        {
            return false;
        }
        var leases = Volatile.Read(ref _leases);
        while ((leases & RetiredBit) == 0)
        {
            var seen = Interlocked.CompareExchange(ref _leases, leases + 1, leases);
            if (seen == leases)
            {
                // Written only when the millisecond changed, so a hot model's requests do not all write one cache line.
                var now = Environment.TickCount64;
                if (Volatile.Read(ref _lastUsedMs) != now)
                {
                    Volatile.Write(ref _lastUsedMs, now);
                }
                return true;
            }
            leases = seen;
        }
        return false;
    }

    /// <summary>Ends a request admitted by <see cref="TryEnter"/>.</summary>
    internal void Exit()
    {
        if (Interlocked.Decrement(ref _leases) == RetiredBit)
        {
            _idle.TrySetResult();
        }
    }

    // Triton counts a request as as many inferences as its batch dimension holds.
    private static long BatchSize(ModelConfig config, InferenceRequest request) =>
        config.MaxBatchSize > 0 && request.Inputs.Count > 0 && request.Inputs[0].Shape.Length > 0 ? request.Inputs[0].Shape[0] : 1;

    // The model sees the config's reshape.shape; the client sent dims. Bytes are unchanged, only the shape.
    private static void ApplyInputReshapes(ModelConfig config, InferenceRequest request)
    {
        for (var i = 0; i < request.Inputs.Count; i++)
        {
            var input = request.Inputs[i];
            var reshape = FindReshape(config.Input, input.Name);
            if (reshape is not null)
            {
                request.Inputs[i] = input.Rename(input.Name, WithBatch(config, input.Shape, reshape));
            }
        }
    }

    private static void ApplyOutputReshapes(ModelConfig config, Tensor[] outputs)
    {
        for (var i = 0; i < outputs.Length; i++)
        {
            var output = outputs[i];
            for (var j = 0; j < config.Output.Count; j++)
            {
                var expected = config.Output[j];
                if (expected.Name == output.Name && expected.Reshape is not null)
                {
                    outputs[i] = output.Rename(output.Name, ResolveDims(WithBatch(config, output.Shape, expected.Dims), output.ElementCount));
                }
            }
        }
    }

    private static long[] WithBatch(ModelConfig config, long[] actualShape, RepeatedField<long> dims)
    {
        var batch = config.MaxBatchSize > 0 ? 1 : 0;
        var shape = new long[batch + dims.Count];
        if (batch > 0)
        {
            shape[0] = actualShape[0];
        }
        dims.CopyTo(shape, batch);
        return shape;
    }

    // A config dim of -1 in a reshaped output takes whatever the element count leaves for it.
    private static long[] ResolveDims(long[] shape, long elementCount)
    {
        var unknown = Array.IndexOf(shape, -1L);
        if (unknown >= 0)
        {
            long known = 1;
            for (var i = 0; i < shape.Length; i++)
            {
                if (i != unknown)
                {
                    known *= shape[i];
                }
            }
            shape[unknown] = known == 0 ? 0 : elementCount / known;
        }
        return shape;
    }

    private static RepeatedField<long>? FindReshape(RepeatedField<ModelInput> tensors, string name)
    {
        for (var i = 0; i < tensors.Count; i++)
        {
            if (tensors[i].Name == name)
            {
                return tensors[i].Reshape?.Shape;
            }
        }
        return null;
    }

    /// <summary>
    /// Grows or shrinks the instance groups to <paramref name="groups"/> (which differ from the
    /// current ones only in CPU counts) while the version serves: new instances are created and warmed
    /// up before they take work; a removed instance finishes what it runs, then is released. False
    /// when the change cannot be made in place (the caller reloads instead).
    /// </summary>
    internal async Task<bool> ResizeAsync(IReadOnlyList<ModelInstanceGroup> groups, CancellationToken cancellationToken)
    {
        var instances = Instances;
        if (instances?.Warmup is null || _scheduler is null || !instances.CanResizeTo(groups) || !TryEnter())
        {
            return false;
        }
        try
        {
            for (var g = 0; g < groups.Count; g++)
            {
                var delta = groups[g].Count - instances.InGroup(g).Count;
                if (delta > 0)
                {
                    var group = g;
                    var created = await Task.Run(() => CreateWarmInstances(instances, group, delta, cancellationToken), cancellationToken).ConfigureAwait(false);
                    foreach (var instance in created)
                    {
                        // A resize changes CPU counts only: the new instance runs on device 0, as its group's others do.
                        var added = _scheduler is ModelScheduler engine
                            ? engine.TryAddInstance(instance, new InstanceDemand(groups[g].RateLimiter, 0, groups[g].Name))
                            : _scheduler.TryAddInstance(instance);
                        if (!added)
                        {
                            instance.Dispose();
                            return false;
                        }
                        instances.Added(g, instance);
                        Interlocked.Increment(ref _instanceCount);
                        Interlocked.Add(ref _memoryBytes, instance.MemoryBytes);
                    }
                }
                for (var i = 0; i < -delta; i++)
                {
                    var current = instances.InGroup(g);
                    var instance = current[^1];
                    if (!await _scheduler.RemoveInstanceAsync(instance).ConfigureAwait(false))
                    {
                        return false;
                    }
                    instances.Removed(g, instance);
                    Interlocked.Decrement(ref _instanceCount);
                    Interlocked.Add(ref _memoryBytes, -instance.MemoryBytes);
                    instance.Dispose();
                }
            }
            instances.Resized(groups);
            var config = _config!;
            if (config.InstanceGroup.Count == groups.Count)
            {
                // A published config is never changed: the new counts go into a copy.
                var resized = config.Clone();
                for (var i = 0; i < groups.Count; i++)
                {
                    resized.InstanceGroup[i].Count = groups[i].Count;
                }
                _config = resized;
            }
            return true;
        }
        finally
        {
            Exit();
        }
    }

    private List<IModelInstance> CreateWarmInstances(VersionInstances instances, int group, int count, CancellationToken cancellationToken)
    {
        var created = new List<IModelInstance>(count);
        try
        {
            using var warmup = WarmupRequests.Prepare(_config!, instances.Warmup!);
            for (var i = 0; i < count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var instance = instances.Create(group);
                created.Add(instance);
                WarmupExecutions += warmup.Run(instance, cancellationToken);
            }
            return created;
        }
        catch
        {
            foreach (var instance in created)
            {
                instance.Dispose();
            }
            throw;
        }
    }

    /// <summary>
    /// Retires the version: UNLOADING at once (new requests are refused, so the caller must already
    /// have taken it out of the snapshot), then, once every admitted request has finished, its
    /// instances are released and it is UNAVAILABLE "unloaded". Idempotent; completes when done.
    /// </summary>
    internal Task RetireAsync()
    {
        lock (_retireLock)
        {
            return _retirement ??= RetireCoreAsync();
        }
    }

    private async Task RetireCoreAsync()
    {
        if (_scheduler is null)
        {
            Owned?.Dispose();
            return;
        }
        _state = ModelState.Unloading;
        _reason = "unloading: finishing the requests it accepted";
        if (Interlocked.Add(ref _leases, RetiredBit) == RetiredBit)
        {
            _idle.TrySetResult();
        }
        await _idle.Task.ConfigureAwait(false);
        // Nothing is admitted any more and every admitted request has finished: the scheduler's
        // queue is empty, so disposing it only stops its workers and releases the instances.
        await _scheduler.DisposeAsync().ConfigureAwait(false);
        Volatile.Write(ref _memoryBytes, 0);
        Footprint = Residency.VersionFootprint.None;
        Statistics?.Dispose();
        DriftRetired?.Invoke(Drift!);
        Owned?.Dispose();
        // What the instances freed goes back to the operating system now, not when the C library decides: under a memory
        // budget the next load is measured by the process's resident growth and must not reuse this memory unseen.
        Residency.NativeHeap.Trim();
        _reason = UnloadedReason;
        _state = ModelState.Unavailable;
    }

    /// <summary>Stops taking requests, finishes the accepted ones and releases the instances.</summary>
    public async ValueTask DisposeAsync() => await RetireAsync().ConfigureAwait(false);
}
