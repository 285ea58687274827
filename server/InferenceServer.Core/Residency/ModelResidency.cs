using System.Collections.Concurrent;
using System.Globalization;
using InferenceServer.Core.Devices;
using InferenceServer.Core.Lifecycle;
using InferenceServer.Core.Models;
using InferenceServer.Core.Repository;
using Microsoft.Extensions.Logging;

namespace InferenceServer.Core.Residency;

/// <summary>
/// What the loaded models hold against the memory budgets, and the loads that must fit them. Every version's load goes
/// through <see cref="LoadAsync"/>: its footprint is estimated before (the last measurement of the same files, else the
/// files' size times <see cref="ModelLifecycleOptions.ModelMemoryEstimateFactor"/>, never below a declared
/// <c>memory_footprint_bytes</c>), room is made by evicting least recently used unpinned models
/// (<see cref="EvictionPolicy"/>), and the footprint is measured across the load: the process's resident growth (CPU)
/// and each GPU's used memory (through <see cref="IGpuDevices"/>). Under a CPU budget the load's peak is measured too
/// (the resident high-water mark), and the next load of the same files makes room for that peak, not only for what it
/// holds once loaded; an evicted model's freed memory is given back to the system (<see cref="NativeHeap"/>) before
/// the load that evicted it is measured.
/// </summary>
/// <remarks>
/// Resident growth is the process's, so two loads that overlap would each see the other's memory. Under a budget, loads
/// therefore run one at a time (a load is seconds; what matters under a budget is that the charge is right, and eviction
/// must see the memory of the previous load before deciding the next). Without a budget loads stay parallel, and a load
/// that overlapped another keeps its estimate (marked not measured in the index).
/// </remarks>
internal sealed partial class ModelResidency : IDisposable
{
    /// <summary>The config parameter that keeps a model loaded: <c>parameters { key: "pinned" value { string_value: "true" } }</c>.</summary>
    public const string PinnedParameter = "pinned";

    /// <summary>The config parameter that declares a model's footprint in bytes, a floor under what is measured (KServe's TrainedModel <c>memory</c>).</summary>
    public const string FootprintParameter = "memory_footprint_bytes";

    private readonly ModelRegistry _registry;
    private readonly ModelLifecycleOptions _options;
    private readonly IGpuDevices _gpus;
    private readonly ILogger<ModelResidency> _logger;
    private readonly SemaphoreSlim _budgetGate = new(1, 1);
    // The last footprint measured per version folder state (model, version, files signature), for the next estimate.
    private readonly ConcurrentDictionary<(string Model, long Version, string Signature), VersionFootprint> _measured = new();
    private int _running;
    private long _started;
    // Under a budget: loads waiting for the gate or holding it (counted until they end), and how long one holds it (an average that follows recent loads), in ms.
    private int _queued;
    private double _averageLoadMs;
    // The models whose load has taken its turn under the budget (passed the gate), until ForgetTurn: a load before that
    // has not started, wherever it is (the gate, the model's lock, a load slot, its config being read).
    private readonly ConcurrentDictionary<string, bool> _turnTaken = new(StringComparer.Ordinal);
    // The models whose last load was refused for room (cleared when one of their loads starts).
    private readonly ConcurrentDictionary<string, bool> _refusedForRoom = new(StringComparer.Ordinal);
    // Where the CPU budget counts the process: the server's own memory, and the check between loads (stopped on dispose).
    private readonly ServerMemory? _server;
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>
    /// Creates the residency with the budgets resolved against this machine's RAM and GPUs. <paramref name="serverMemory"/>
    /// reads the process's memory where the CPU budget counts it (<c>--model-memory-budget-counts process</c>); null: this
    /// process's (tests give a script).
    /// </summary>
    public ModelResidency(ModelRegistry registry, ModelLifecycleOptions options, IGpuDevices gpus, ILogger<ModelResidency> logger, ServerMemory? serverMemory = null)
    {
        _registry = registry;
        _options = options;
        _gpus = gpus;
        _logger = logger;
        Budgets = Resolve(options, gpus);
        if (Budgets.CpuBytes is not null && options.ModelMemoryBudgetCounts == ModelLifecycleOptions.BudgetCountsProcess)
        {
            _server = serverMemory ?? ServerMemory.OfThisProcess();
        }
    }

    /// <summary>
    /// The server's own memory that the CPU budget holds besides the models: the process's resident memory above the empty
    /// server's, less what the models are charged, where the budget counts the process; 0 where it counts the models only.
    /// </summary>
    public long ServerOwnBytes => _server?.OwnBytes(Used().CpuBytes) ?? 0;

    /// <summary>The budgets in force, in bytes.</summary>
    public MemoryBudgets Budgets { get; }

    /// <summary>
    /// Unloads a model to make room: takes it out of the registry (its requests in flight finish) and returns the versions
    /// now draining, or null when it cannot be evicted now (a load or unload of it holds its lock). Set by the lifecycle.
    /// </summary>
    internal Func<string, IReadOnlyList<ModelVersion>?>? Evict { get; set; }

    /// <summary>Raised once per model evicted (for the metrics).</summary>
    public event Action? Evicted;

    /// <summary>
    /// Under a budget, about how long a load asked for now would wait before it could start: the loads ahead of it (they
    /// run one at a time) times how long a load has lately held the budget (evictions, the load and warm-up). Zero without a
    /// budget (loads run side by side) or before the first load.
    /// </summary>
    public TimeSpan ExpectedQueueWait => Budgets.Any
        ? TimeSpan.FromMilliseconds(Volatile.Read(ref _queued) * Volatile.Read(ref _averageLoadMs))
        : TimeSpan.Zero;

    /// <summary>True when the last load of <paramref name="model"/> was refused for want of room under a budget (not a failure of the model).</summary>
    public bool LastLoadRefusedForRoom(string model) => _refusedForRoom.ContainsKey(model);

    /// <summary>
    /// True once a load of <paramref name="model"/> has taken its turn under the budget (it has started), since the last
    /// <see cref="ForgetTurn"/>; false without a budget.
    /// </summary>
    public bool TookTurn(string model) => _turnTaken.ContainsKey(model);

    /// <summary>Forgets that a load of <paramref name="model"/> took its turn: called before its next load is asked for.</summary>
    public void ForgetTurn(string model) => _turnTaken.TryRemove(model, out _);

    /// <summary>What every loaded version holds (serving ones, and retired ones until they released their instances).</summary>
    public VersionFootprint Used()
    {
        long cpu = 0;
        var gpu = new Dictionary<int, long>();
        foreach (var entry in _registry.Snapshot.Models.Values)
        {
            Add(entry.Versions.Values, ref cpu, gpu);
            Add(entry.Retired.Values, ref cpu, gpu);
        }
        return new VersionFootprint(cpu, gpu, true);
    }

    /// <summary>
    /// Loads one version through <paramref name="load"/> within the budgets: evicts what the plan asks, then loads and
    /// measures. A load that cannot fit returns an UNAVAILABLE version whose reason names the budget and the sizes (the
    /// lifecycle reports it as any failed load; nothing was created).
    /// </summary>
    public async Task<ModelVersion> LoadAsync(ModelLoadPlan plan, long number, string signature, Func<CancellationToken, Task<ModelVersion>> load,
        CancellationToken cancellationToken)
    {
        var name = plan.Directory.Name;
        var estimate = Estimate(plan, number, signature);
        var budgeted = Budgets.Any;
        string? refusal = null;
        if (_server is not null && _server.MarkEmpty())
        {
            LogEmpty(_server.EmptyBytes ?? 0);
            if (_server.CheckEvery != Timeout.InfiniteTimeSpan)
            {
                _ = WatchAsync(_server.CheckEvery, _stopping.Token);
            }
        }
        if (budgeted)
        {
            Interlocked.Increment(ref _queued);
            try
            {
                refusal = await EnterWithRoomAsync(name, number, estimate, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                Interlocked.Decrement(ref _queued);
                throw;
            }
            if (refusal is null)
            {
                _turnTaken[name] = true;
            }
        }
        if (refusal is not null)
        {
            _refusedForRoom[name] = true;
            Interlocked.Decrement(ref _queued);
            LogRefused(name, number, refusal);
            return ModelVersion.Failed(name, number, refusal, plan.Config);
        }
        _refusedForRoom.TryRemove(name, out _);
        var entered = Environment.TickCount64;
        try
        {
            var startedBefore = Interlocked.Increment(ref _started);
            var alone = Interlocked.Increment(ref _running) == 1;
            // Under a CPU budget the load's peak is measured too (the next load of these files makes room for it); the
            // high-water mark is the process's, so it is reset only where it is used.
            var peakTracked = Budgets.CpuBytes is not null && ProcessMemory.ResetPeak();
            var cpuBefore = ProcessMemory.ResidentBytes();
            var gpuBefore = ReadGpus(estimate);
            ModelVersion version;
            try
            {
                version = await load(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }
            alone &= Interlocked.Read(ref _started) == startedBefore;
            if (version.State != ModelState.Ready)
            {
                return version;
            }
            var footprint = alone ? Measure(plan.Config, cpuBefore, gpuBefore, peakTracked) : estimate with { Measured = false };
            version.Footprint = footprint;
            if (footprint.Measured)
            {
                _measured[(name, number, signature)] = footprint;
            }
            LogFootprint(name, number, footprint.CpuBytes, footprint.CpuRoomBytes, footprint.Measured ? "measured" : "estimated (another load overlapped)", estimate.CpuBytes);
            if (budgeted && Budgets.CpuBytes is { } cpu && Used().CpuBytes > cpu)
            {
                // The estimate was low: the next load evicts what this one went over by.
                LogOverBudget(name, number, Used().CpuBytes, cpu);
            }
            return version;
        }
        finally
        {
            if (budgeted)
            {
                // A plain average weighted to the last loads; one writer at a time (the gate is still held).
                var held = Environment.TickCount64 - entered;
                var average = Volatile.Read(ref _averageLoadMs);
                Volatile.Write(ref _averageLoadMs, average == 0 ? held : (0.8 * average) + (0.2 * held));
                Interlocked.Decrement(ref _queued);
                _budgetGate.Release();
            }
        }
    }

    /// <summary>
    /// The index rows with each loaded version's footprint, the budgets and the headroom added (rows of versions that hold
    /// nothing stay as they are).
    /// </summary>
    public IReadOnlyList<ModelIndexEntry> Describe(IReadOnlyList<ModelIndexEntry> rows)
    {
        var snapshot = _registry.Snapshot;
        var used = Used();
        var own = _server?.OwnBytes(used.CpuBytes) ?? 0;
        var described = new List<ModelIndexEntry>(rows.Count);
        foreach (var row in rows)
        {
            if (row.State == ModelState.Ready && snapshot.Models.TryGetValue(row.Name, out var entry)
                && long.TryParse(row.Version, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
                && entry.Versions.TryGetValue(number, out var version) && version.Footprint is { } footprint && footprint != VersionFootprint.None)
            {
                var gpus = footprint.GpuBytes.OrderBy(p => p.Key).Select(p => new GpuIndexMemory(p.Key, p.Value,
                    Budgets.GpuBytes.TryGetValue(p.Key, out var budget) ? budget : null,
                    Budgets.GpuBytes.TryGetValue(p.Key, out var limit) ? limit - used.Gpu(p.Key) : null)).ToList();
                described.Add(row with
                {
                    Memory = new ModelIndexMemory(footprint.CpuBytes, footprint.Measured, Budgets.CpuBytes, Budgets.CpuBytes - used.CpuBytes - own, gpus),
                });
            }
            else
            {
                described.Add(row);
            }
        }
        return described;
    }

    // Only where a model can come back without an operator: on demand (its next request) or explicit (the repository API).
    // With none and poll the startup load is the whole plan, so a budget there refuses what does not fit instead.
    private bool Evicts => _options.ModelControlMode is ModelControlMode.OnDemand or ModelControlMode.Explicit;

    /// <summary>True when <paramref name="config"/> pins its model (never evicted).</summary>
    public static bool IsPinned(ModelConfig? config) =>
        config is not null && config.Parameters.TryGetValue(PinnedParameter, out var value)
        && string.Equals(value.StringValue.Trim(), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Takes the budget gate and makes room for <paramref name="need"/>: returns null holding the gate, or why it cannot fit
    /// without it. On demand, a load held back only by the anti-thrash window waits (without the gate, so other loads go
    /// on) until the window lets a model go, for as long as its requests would wait (<c>--cold-start-timeout-ms</c>); in
    /// the other modes the refusal is immediate, as the repository API's caller decides about retrying.
    /// </summary>
    private async Task<string?> EnterWithRoomAsync(string name, long number, VersionFootprint need, CancellationToken cancellationToken)
    {
        var patience = _options.ModelControlMode == ModelControlMode.OnDemand ? _options.ColdStartTimeoutMilliseconds : 0L;
        var started = Environment.TickCount64;
        while (true)
        {
            await _budgetGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            (string? Refusal, TimeSpan? RetryAfter) room;
            try
            {
                room = await MakeRoomAsync(name, number, need, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                _budgetGate.Release();
                throw;
            }
            if (room.Refusal is not null)
            {
                _budgetGate.Release();
            }
            if (room.Refusal is null || room.RetryAfter is not { } wait
                || Environment.TickCount64 - started + (long)wait.TotalMilliseconds > patience)
            {
                return room.Refusal;
            }
            LogWaitingForRoom(name, number, (long)wait.TotalMilliseconds);
            await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
        }
    }

    // Evicts until the estimate fits; returns why it cannot (and when it may, if the anti-thrash window is why), or no refusal once it fits.
    private async Task<(string? Refusal, TimeSpan? RetryAfter)> MakeRoomAsync(string name, long number, VersionFootprint need, CancellationToken cancellationToken)
    {
        var busy = new HashSet<string>(StringComparer.Ordinal) { name };
        var loading = $"model '{name}' version {number.ToString(CultureInfo.InvariantCulture)}";
        while (true)
        {
            var used = Used();
            var own = _server?.OwnBytes(used.CpuBytes) ?? 0;
            var plan = EvictionPolicy.Plan(loading, Budgets, used, need, Evicts ? Candidates(busy) : [], Environment.TickCount64,
                (long)(_options.EvictionMinIdleSeconds * 1000), own);
            if (plan.Victims.Count == 0 && plan.Fits)
            {
                return (null, null);
            }
            if (own > 0 && Reclaim(own))
            {
                continue;
            }
            if (!plan.Fits)
            {
                return (plan.Refusal, plan.RetryAfter);
            }
            await EvictAsync(plan.Victims, busy, loading, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Where the CPU budget counts the process and the server's own growth alone took it over (no load asking): evicts the
    /// least recently used idle unpinned models until it fits (<see cref="EvictionPolicy.Relieve"/>). Does nothing while a load
    /// holds the budget (that load makes room itself, counting the same memory). Returns how many models it evicted.
    /// </summary>
    public async Task<int> RelieveAsync(CancellationToken cancellationToken)
    {
        if (_server?.EmptyBytes is null || !Evicts || !await _budgetGate.WaitAsync(0, cancellationToken).ConfigureAwait(false))
        {
            return 0;
        }
        try
        {
            var busy = new HashSet<string>(StringComparer.Ordinal);
            var evicted = 0;
            while (true)
            {
                var used = Used();
                var own = _server.OwnBytes(used.CpuBytes);
                var victims = EvictionPolicy.Relieve(Budgets, used, own, Candidates(busy));
                if (victims.Count == 0)
                {
                    return evicted;
                }
                if (Reclaim(own))
                {
                    continue;
                }
                LogProcessOver(used.CpuBytes, own, Budgets.CpuBytes ?? 0);
                evicted += await EvictAsync(victims, busy, "the server's own memory (--model-memory-budget-counts process)", cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _budgetGate.Release();
        }
    }

    // The server's own memory stands in the way: has it give back what it can first (rate-limited); true when it did.
    private bool Reclaim(long ownBefore)
    {
        if (_server?.TryReclaim() != true)
        {
            return false;
        }
        LogReclaimed(ownBefore, _server.OwnBytes(Used().CpuBytes));
        return true;
    }

    /// <summary>Stops the check between loads.</summary>
    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    // Evicts victims (one that cannot go now joins busy, so the next plan looks past it) and waits until their memory is free; returns how many went.
    private async Task<int> EvictAsync(IReadOnlyList<EvictionCandidate> victims, HashSet<string> busy, string forWhat, CancellationToken cancellationToken)
    {
        var draining = new List<ModelVersion>();
        var evicted = 0;
        foreach (var victim in victims)
        {
            if (Evict?.Invoke(victim.Model) is { } versions)
            {
                LogEvicted(victim.Model, victim.Footprint.CpuBytes, Environment.TickCount64 - victim.LastUsedMs, forWhat);
                Evicted?.Invoke();
                draining.AddRange(versions);
                evicted++;
            }
            else
            {
                busy.Add(victim.Model);
            }
        }
        // Their requests in flight finish, then their instances go: only then is the memory free.
        await Task.WhenAll(draining.Select(v => v.RetireAsync())).WaitAsync(cancellationToken).ConfigureAwait(false);
        return evicted;
    }

    // The check between loads, for as long as the server runs.
    private async Task WatchAsync(TimeSpan every, CancellationToken stopping)
    {
        try
        {
            using var timer = new PeriodicTimer(every);
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                try
                {
                    await RelieveAsync(stopping).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // An eviction that failed leaves the models as they were; the next check or load tries again.
                    LogReliefFailed(e);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The server is stopping.
        }
    }

    // The loaded models that could make room, but not those in busy (the one loading, those that could not be evicted).
    private List<EvictionCandidate> Candidates(HashSet<string> busy)
    {
        var candidates = new List<EvictionCandidate>();
        foreach (var entry in _registry.Snapshot.Models.Values)
        {
            if (entry.Unloaded || busy.Contains(entry.Name) || _registry.IsLoading(entry.Name))
            {
                continue;
            }
            long cpu = 0;
            var gpu = new Dictionary<int, long>();
            long lastUsed = long.MinValue;
            var pinned = false;
            var inUse = false;
            foreach (var version in entry.Versions.Values)
            {
                if (version.State != ModelState.Ready)
                {
                    continue;
                }
                Add([version], ref cpu, gpu);
                lastUsed = Math.Max(lastUsed, version.LastUsedMs);
                pinned |= IsPinned(version.Config);
                inUse |= version.InUse;
            }
            if (lastUsed != long.MinValue)
            {
                candidates.Add(new EvictionCandidate(entry.Name, new VersionFootprint(cpu, gpu, true), lastUsed, pinned) { InUse = inUse });
            }
        }
        return candidates;
    }

    // Before the load: the last measurement of these files, else their size times the factor; never below what the config declares.
    private VersionFootprint Estimate(ModelLoadPlan plan, long number, string signature)
    {
        var declared = Declared(plan.Config);
        if (_measured.TryGetValue((plan.Directory.Name, number, signature), out var known))
        {
            return known with { CpuBytes = Math.Max(known.CpuBytes, declared), Measured = false };
        }
        var files = plan.Directory.Versions.TryGetValue(number, out var folder) ? FolderBytes(folder) : 0;
        var bytes = (long)(files * _options.ModelMemoryEstimateFactor);
        var gpu = new Dictionary<int, long>();
        if (plan.Config is { } config)
        {
            foreach (var group in VersionInstances.Effective(config))
            {
                if (group.Kind != ModelInstanceGroup.Types.Kind.Gpu)
                {
                    continue;
                }
                var devices = group.Gpus.Count > 0 ? (IEnumerable<int>)group.Gpus : _gpus.Devices.Select(d => d.Index);
                foreach (var device in devices)
                {
                    gpu[device] = gpu.GetValueOrDefault(device) + bytes * Math.Max(1, group.Count);
                }
            }
        }
        return new VersionFootprint(Math.Max(bytes, declared), gpu, false);
    }

    private VersionFootprint Measure(ModelConfig? config, long cpuBefore, Dictionary<int, long> gpuBefore, bool peakTracked)
    {
        var cpu = Math.Max(0, ProcessMemory.ResidentBytes() - cpuBefore);
        var peak = peakTracked && ProcessMemory.PeakResidentBytes() is { } highWater ? Math.Max(cpu, highWater - cpuBefore) : 0;
        var gpu = new Dictionary<int, long>();
        foreach (var (device, before) in gpuBefore)
        {
            if (_gpus.TryReadMemory(device, out var after))
            {
                gpu[device] = Math.Max(0, after.UsedBytes - before);
            }
        }
        return new VersionFootprint(Math.Max(cpu, Declared(config)), gpu, true) { CpuLoadPeakBytes = peak };
    }

    // The used memory of the GPUs the load places instances on, before it.
    private Dictionary<int, long> ReadGpus(VersionFootprint estimate)
    {
        var before = new Dictionary<int, long>();
        foreach (var device in estimate.GpuBytes.Keys)
        {
            if (_gpus.TryReadMemory(device, out var memory))
            {
                before[device] = memory.UsedBytes;
            }
        }
        return before;
    }

    private static long Declared(ModelConfig? config) =>
        config is not null && config.Parameters.TryGetValue(FootprintParameter, out var value)
        && long.TryParse(value.StringValue.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) ? bytes : 0;

    private static long FolderBytes(string folder)
    {
        try
        {
            return new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private static void Add(IEnumerable<ModelVersion> versions, ref long cpu, Dictionary<int, long> gpu)
    {
        foreach (var version in versions)
        {
            var footprint = version.Footprint;
            cpu += footprint.CpuBytes;
            foreach (var (device, bytes) in footprint.GpuBytes)
            {
                gpu[device] = gpu.GetValueOrDefault(device) + bytes;
            }
        }
    }

    private static MemoryBudgets Resolve(ModelLifecycleOptions options, IGpuDevices gpus)
    {
        long? cpu = null;
        if (options.ModelMemoryBudget.Length > 0 && MemorySize.TryParse(options.ModelMemoryBudget, out var size, out _))
        {
            cpu = size.Resolve(ProcessMemory.TotalBytes());
        }
        var gpu = new Dictionary<int, long>();
        foreach (var text in options.GpuMemoryBudgets)
        {
            if (!GpuMemoryBudget.TryParse(text, out var budget, out _))
            {
                continue;
            }
            if (budget.Size.Fraction > 0)
            {
                if (!gpus.TryReadMemory(budget.Device, out var memory))
                {
                    throw new ArgumentException($"Server:GpuMemoryBudgets '{text}' is a fraction of GPU {budget.Device}'s memory, which this server cannot read (no such GPU, or no NVML); give it in bytes");
                }
                gpu[budget.Device] = budget.Size.Resolve(memory.TotalBytes);
            }
            else
            {
                gpu[budget.Device] = budget.Size.Bytes;
            }
        }
        return new MemoryBudgets(cpu, gpu);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "The CPU budget counts the process: the empty server holds {Bytes} bytes, and the budget bounds what the process holds above that")]
    private partial void LogEmpty(long bytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "The process is over the --model-memory-budget of {Budget} bytes with no load asking: the models hold {Used} bytes and the server's own memory above its empty state {Own}; evicting idle models")]
    private partial void LogProcessOver(long used, long own, long budget);

    [LoggerMessage(Level = LogLevel.Information, Message = "The server's own memory stood in the models' way: a full collection took it from {Before} to {After} bytes before any model was evicted for it")]
    private partial void LogReclaimed(long before, long after);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Evicting idle models for the server's own memory failed; the next check tries again")]
    private partial void LogReliefFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Evicted model '{Model}' ({Bytes} bytes, idle {IdleMs} ms) to make room for {Loading}")]
    private partial void LogEvicted(string model, long bytes, long idleMs, string loading);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Model '{Model}' version {Version} waits {Milliseconds} ms for a model to leave the anti-thrash window (--eviction-min-idle)")]
    private partial void LogWaitingForRoom(string model, long version, long milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model '{Model}' version {Version} refused: {Reason}")]
    private partial void LogRefused(string model, long version, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model '{Model}' version {Version} holds {Bytes} bytes of CPU memory ({Peak} at most while it loaded), {How} (estimated {Estimate} before the load)")]
    private partial void LogFootprint(string model, long version, long bytes, long peak, string how, long estimate);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model '{Model}' version {Version} measured above its estimate: the models hold {Used} bytes, over the --model-memory-budget of {Budget}; the next load evicts the difference")]
    private partial void LogOverBudget(string model, long version, long used, long budget);
}
