using System.Collections.Concurrent;
using System.Globalization;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Repository;
using Microsoft.Extensions.Logging;

namespace InferenceServer.Core.Models;

/// <summary>
/// Owns the loaded models and their lifecycle. The set of models is an immutable snapshot read
/// without locks on the request path and replaced whole when a model changes, so no request ever
/// sees a half-loaded model: a new version is loaded and warmed up outside the snapshot, the
/// snapshot is swapped, and only then are the versions it replaced retired (they finish the
/// requests they accepted, then release their instances).
/// </summary>
/// <remarks>
/// Changes to one model (startup load, poll changes, the repository API) are serialized by a
/// per-model lock; loads of different models run in parallel, at most
/// <see cref="ModelManagerOptions.ModelLoadThreadCount"/> at a time.
/// </remarks>
public sealed partial class ModelManager : IAsyncDisposable
{
    private readonly ModelLoader _loader;
    private readonly ModelManagerOptions _options;
    private readonly ILogger<ModelManager> _logger;
    private readonly TimeProvider _time;
    private readonly Lock _snapshotLock = new();
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _modelLocks = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _loadSlots;
    private readonly ConcurrentDictionary<ModelVersion, Task> _retiring = new();
    private readonly CancellationTokenSource _stopping = new();
    private volatile IReadOnlyDictionary<string, ModelEntry> _models = new Dictionary<string, ModelEntry>();
    private volatile bool _startupComplete;
    private volatile IReadOnlyList<string> _startupModels = [];
    private ModelRepositoryPoller? _poller;
    private int _disposed;

    /// <summary>The <c>--load-model</c> name that loads every model of the repositories (Triton's).</summary>
    public const string AllModels = "*";

    /// <summary>Creates the manager; <paramref name="timeProvider"/> is the clock of poll mode's completion rule.</summary>
    public ModelManager(ModelLoader loader, ModelManagerOptions options, ILogger<ModelManager> logger, TimeProvider? timeProvider = null)
    {
        _loader = loader;
        _options = options;
        _logger = logger;
        _time = timeProvider ?? TimeProvider.System;
        _loadSlots = new SemaphoreSlim(Math.Max(1, options.ModelLoadThreadCount));
    }

    /// <summary>The current snapshot of models, by name.</summary>
    public IReadOnlyDictionary<string, ModelEntry> Models => _models;

    /// <summary>True once the startup load has finished (whatever each model's outcome).</summary>
    public bool StartupComplete => _startupComplete;

    /// <summary>
    /// The models the startup load was asked for, sorted: every model of the repositories (none and poll modes, and
    /// explicit mode with <c>--load-model '*'</c>), else the <c>--load-model</c> names, including names that are in no
    /// repository. Empty until the startup load has begun.
    /// </summary>
    public IReadOnlyList<string> StartupModels => _startupModels;

    /// <summary>
    /// Loads the repository as the control mode says: everything (none, poll) or the
    /// <c>--load-model</c> list (explicit). Models load in parallel; a failing model does not stop the
    /// others. In poll mode, watching the repository starts once the startup load is done.
    /// </summary>
    public async Task LoadRepositoryAsync(CancellationToken cancellationToken)
    {
        if (_options.ModelControlMode == ModelControlMode.Poll)
        {
            _poller = new ModelRepositoryPoller(_options.ModelRepositories, _options, ApplyLatestChangeAsync, _time, _logger);
            // Before scanning for the load: a change made while the startup load runs is then seen as a change.
            _poller.Baseline();
        }

        var duplicates = new SortedSet<string>(StringComparer.Ordinal);
        var directories = ModelRepositoryScanner.Scan(_options.ModelRepositories, duplicates);
        var wanted = new SortedSet<string>(directories.Select(d => d.Name), StringComparer.Ordinal);
        wanted.UnionWith(duplicates);
        if (_options.ModelControlMode == ModelControlMode.Explicit && !_options.LoadModels.Contains(AllModels))
        {
            var found = wanted;
            wanted = new SortedSet<string>(_options.LoadModels, StringComparer.Ordinal);
            foreach (var missing in wanted.Where(w => !found.Contains(w)))
            {
                LogMissingModel(missing);
            }
            directories = directories.Where(d => wanted.Contains(d.Name)).ToList();
            duplicates.IntersectWith(wanted);
        }
        _startupModels = wanted.ToArray();
        foreach (var name in duplicates)
        {
            LogDuplicateModel(name, string.Join("', '", ModelRepositoryScanner.Locate(_options.ModelRepositories, name)));
            Publish(new ModelEntry(name, new Dictionary<long, ModelVersion>(), ModelRepositoryScanner.DuplicateReason));
        }

        // Plan every model first, so the cores can be divided among all the instances at once.
        var plans = directories.Select(d => _loader.Plan(d)).ToList();
        var cpuInstances = plans.Sum(p => p.CpuInstanceCount);
        var threads = CpuThreadBudget.ThreadsPerInstance(Environment.ProcessorCount, cpuInstances);
        LogThreadBudget(Environment.ProcessorCount, cpuInstances, threads);

        await Task.WhenAll(plans.Select(plan => ApplyAsync(plan.Directory, plan, null, null, threads, cancellationToken))).ConfigureAwait(false);
        _startupComplete = true;
        _poller?.Start();
    }

    /// <summary>
    /// The repository API's load (explicit mode only): loads the model, or reloads it when it is
    /// loaded, optionally with a JSON config and model files instead of the repository's. Completes
    /// once the new versions serve (or the load failed, leaving what served untouched). Versions
    /// whose files and config did not change keep serving as they are; a config that changes only
    /// instance_group counts resizes them in place.
    /// </summary>
    /// <exception cref="InferenceException">
    /// InvalidArgument for a bad model name, config or file path; NotFound when the repository has no
    /// such model (and no files were given); Unavailable when the control mode forbids it or the load failed.
    /// </exception>
    public async Task LoadModelAsync(string modelName, ModelLoadOverrides? overrides, CancellationToken cancellationToken)
    {
        RequireExplicitMode();
        ValidateModelName(modelName);
        ModelConfigReadResult? configOverride = null;
        if (overrides?.ConfigJson is { } json)
        {
            try
            {
                var result = ModelConfigJson.Parse(json, "load parameter 'config'");
                foreach (var warning in result.Warnings)
                {
                    LogConfigWarning(modelName, warning.ToString());
                }
                configOverride = result;
            }
            catch (ModelConfigException e)
            {
                throw InferenceException.Invalid($"failed to load '{modelName}': {e.Message}");
            }
        }

        UploadedModelFolder? uploaded = null;
        ModelDirectory directory;
        if (overrides is { Files.Count: > 0 })
        {
            if (configOverride is null)
            {
                throw InferenceException.Invalid($"failed to load '{modelName}': model files given as 'file:' parameters need the 'config' parameter too, to describe the model");
            }
            var parent = _options.UploadDirectory.Length > 0 ? _options.UploadDirectory : Path.Combine(Path.GetTempPath(), "inference-server-uploads");
            try
            {
                uploaded = UploadedModelFolder.Create(parent, modelName, overrides.Files);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The reason goes to the client: it names the folder as "the upload folder", not by its server path.
                var reason = e.Message.Replace(Path.GetFullPath(parent), "<upload folder>", StringComparison.Ordinal).Replace(parent, "<upload folder>", StringComparison.Ordinal);
                throw new InferenceException(InferenceErrorKind.Unavailable, $"failed to load '{modelName}': the uploaded files cannot be written: {reason}");
            }
            directory = ModelRepositoryScanner.ScanModel(uploaded.ModelPath);
        }
        else
        {
            var found = ModelRepositoryScanner.Locate(_options.ModelRepositories, modelName);
            if (found.Count == 0)
            {
                throw new InferenceException(InferenceErrorKind.NotFound, $"failed to load '{modelName}': no model folder '{modelName}' in any model repository");
            }
            if (found.Count > 1)
            {
                throw new InferenceException(InferenceErrorKind.Unavailable, $"failed to load '{modelName}': {ModelRepositoryScanner.DuplicateReason}");
            }
            directory = ModelRepositoryScanner.ScanModel(found[0]);
        }

        ApplyOutcome outcome;
        try
        {
            var plan = _loader.Plan(directory, configOverride);
            outcome = await ApplyAsync(directory, plan, null, uploaded, null, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Versions loaded from the uploaded files hold their own references to the folder.
            uploaded?.Release();
        }
        if (outcome.Failures.Count > 0)
        {
            throw new InferenceException(InferenceErrorKind.Unavailable, $"failed to load '{modelName}': {string.Join("; ", outcome.Failures)}");
        }
    }

    /// <summary>
    /// The repository API's unload (explicit mode only): the model stops taking requests; completes
    /// once every version has finished the requests it accepted and released its instances.
    /// <paramref name="unloadDependents"/> is accepted for Triton's API; this server has no ensembles,
    /// so no model depends on another.
    /// </summary>
    /// <exception cref="InferenceException">NotFound when neither the snapshot nor the repository knows the model; Unavailable when the control mode forbids it.</exception>
    public async Task UnloadModelAsync(string modelName, bool unloadDependents, CancellationToken cancellationToken)
    {
        RequireExplicitMode();
        ValidateModelName(modelName);
        if (!_models.ContainsKey(modelName) && ModelRepositoryScanner.Locate(_options.ModelRepositories, modelName).Count == 0)
        {
            throw new InferenceException(InferenceErrorKind.NotFound, $"failed to unload '{modelName}': unknown model");
        }
        await RemoveAsync(modelName, cancellationToken).ConfigureAwait(false);
    }

    private void RequireExplicitMode()
    {
        if (_options.ModelControlMode != ModelControlMode.Explicit)
        {
            // Triton's words, which clients match on; then what this server's mode is.
            throw new InferenceException(InferenceErrorKind.Unavailable,
                $"explicit model load / unload is not allowed if polling is enabled (the model control mode is '{_options.ModelControlMode.ToString().ToLowerInvariant()}'; start the server with --model-control-mode explicit)");
        }
    }

    private static void ValidateModelName(string modelName)
    {
        if (modelName.Length == 0 || modelName is "." or ".." || modelName.StartsWith('.')
            || modelName.AsSpan().IndexOfAny('/', '\\', '\0') >= 0 || modelName.AsSpan().IndexOfAnyInRange('\0', '\u001f') >= 0)
        {
            throw InferenceException.Invalid($"'{modelName}' is not a model name: it must be a folder name of the repository");
        }
    }

    // The poller's hand-over: under the model's lock, apply the newest change the poller saw.
    private async Task ApplyLatestChangeAsync(string name, Func<RepositoryChange?> takeLatest)
    {
        var token = _stopping.Token;
        var gate = _modelLocks.GetOrAdd(name, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(token).ConfigureAwait(false);
        try
        {
            // Taken under the lock: a newer change that arrives meanwhile is applied after this one.
            var change = takeLatest();
            if (change is null)
            {
                return;
            }
            if (change.Directory is null)
            {
                RemoveLocked(name);
                return;
            }
            var plan = _loader.Plan(change.Directory);
            var outcome = await ApplyLockedAsync(change.Directory, plan, change.Signatures, null, null, token).ConfigureAwait(false);
            foreach (var failure in outcome.Failures)
            {
                LogPollLoadFailed(name, failure);
            }
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Brings a model in line with its folder and plan, under the model's lock: keeps the versions
    /// that did not change (resizing their instance groups when only counts changed), loads the
    /// others, lets the version policy choose which serve, swaps the snapshot, then retires what no
    /// longer serves. Nothing serving is touched when a load fails.
    /// </summary>
    private async Task<ApplyOutcome> ApplyAsync(ModelDirectory directory, ModelLoadPlan plan, IReadOnlyDictionary<long, string>? signatures,
        UploadedModelFolder? uploaded, int? intraOpThreads, CancellationToken cancellationToken)
    {
        var gate = _modelLocks.GetOrAdd(directory.Name, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await ApplyLockedAsync(directory, plan, signatures, uploaded, intraOpThreads, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<ApplyOutcome> ApplyLockedAsync(ModelDirectory directory, ModelLoadPlan plan, IReadOnlyDictionary<long, string>? signatures,
        UploadedModelFolder? uploaded, int? intraOpThreads, CancellationToken cancellationToken)
    {
        var name = directory.Name;
        _models.TryGetValue(name, out var current);
        var serving = new Dictionary<long, ModelVersion>();
        if (current is { Unloaded: false })
        {
            foreach (var version in current.Versions.Values)
            {
                if (version.State == ModelState.Ready)
                {
                    serving[version.Version] = version;
                }
            }
        }

        // Version folders that exist: the repository's, or with uploaded files everything that serves
        // now as well (an upload replaces versions, it does not delete the others).
        var present = new HashSet<long>(directory.Versions.Keys);
        if (uploaded is not null)
        {
            present.UnionWith(serving.Keys);
        }

        if (plan.Config is null || plan.Backend is null)
        {
            // The model as a whole cannot load (bad config, no versions): what still has its folder keeps serving.
            LogModelFailed(name, plan.FailureReason);
            var keep = serving.Where(p => present.Contains(p.Key)).ToDictionary(p => p.Key, p => p.Value);
            var retire = serving.Values.Where(v => !keep.ContainsKey(v.Version)).ToList();
            Publish(new ModelEntry(name, keep, plan.FailureReason) { Retired = Merge(current?.Retired, retire, keep.Keys) });
            StartRetiring(retire);
            return new ApplyOutcome([plan.FailureReason]);
        }

        var configKey = ModelLoader.ConfigKey(plan.Config);
        var ready = new Dictionary<long, ModelVersion>();
        var failed = new Dictionary<long, ModelVersion>();
        // The token only bounds the waiting: once a load has started it runs to the end (as in
        // Triton, a client that goes away does not leave a model half-changed).
        await _loadSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var threads = intraOpThreads ?? ThreadsFor(plan, name);
            foreach (var number in plan.Versions)
            {
                var signature = signatures is not null && signatures.TryGetValue(number, out var given) ? given : FolderSignature.Compute(directory.Versions[number]);
                if (serving.TryGetValue(number, out var existing) && existing.FilesSignature.Length > 0
                    && existing.FilesSignature == signature && existing.ConfigKey == configKey
                    && await KeepAsync(existing, plan.Config, directory).ConfigureAwait(false))
                {
                    ready[number] = existing;
                    continue;
                }
                var owned = uploaded?.Acquire();
                ModelVersion loaded;
                try
                {
                    loaded = await _loader.LoadVersionAsync(plan, number, threads, signature, owned, CancellationToken.None).ConfigureAwait(false);
                }
                catch
                {
                    owned?.Dispose();
                    throw;
                }
                if (loaded.State == ModelState.Ready)
                {
                    ready[number] = loaded;
                }
                else
                {
                    owned?.Dispose();
                    failed[number] = loaded;
                }
            }
        }
        catch
        {
            // Nothing is published: what this attempt loaded is released again.
            StartRetiring(ready.Values.Where(v => !serving.ContainsValue(v)).ToList());
            throw;
        }
        finally
        {
            _loadSlots.Release();
        }

        var chosen = VersionSelection.Serving(ready.Keys, failed.Keys, serving.Keys, present);
        var versions = new Dictionary<long, ModelVersion>();
        foreach (var number in chosen)
        {
            versions[number] = ready.TryGetValue(number, out var version) ? version : serving[number];
        }
        var retiring = serving.Values.Concat(ready.Values).Distinct().Where(v => !versions.ContainsValue(v)).ToList();
        foreach (var (number, version) in failed)
        {
            if (!versions.ContainsKey(number))
            {
                versions[number] = version;
            }
        }
        Publish(new ModelEntry(name, versions, "") { Retired = Merge(current?.Retired, retiring, versions.Keys) });
        foreach (var version in retiring)
        {
            LogRetiring(name, version.Version);
        }
        StartRetiring(retiring);
        return new ApplyOutcome(failed.Values.Select(v => $"version {v.VersionText}: {v.Reason}").ToList());
    }

    // An unchanged version stays; when only instance counts changed it is resized in place. False: reload it instead.
    private async Task<bool> KeepAsync(ModelVersion existing, ModelConfig config, ModelDirectory directory)
    {
        var groups = VersionInstances.Effective(config);
        var current = existing.Instances?.Groups;
        if (current is not null && current.Count == groups.Count && current.Zip(groups).All(p => p.First.Count == p.Second.Count))
        {
            return true;
        }
        var before = existing.InstanceCount;
        bool resized;
        try
        {
            resized = await existing.ResizeAsync(groups, directory.Path, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ModelLoadException or Backends.BackendException)
        {
            LogResizeFailed(existing.Name, existing.Version, e.Message);
            return false;
        }
        if (resized)
        {
            LogResized(existing.Name, existing.Version, before, existing.InstanceCount);
        }
        return resized;
    }

    // Threads for the instances a later load creates: the machine's cores shared with what already runs.
    private int ThreadsFor(ModelLoadPlan plan, string name)
    {
        var others = 0;
        foreach (var entry in _models.Values)
        {
            if (entry.Name != name)
            {
                foreach (var version in entry.Versions.Values)
                {
                    others += version.InstanceCount;
                }
            }
        }
        return CpuThreadBudget.ThreadsPerInstance(Environment.ProcessorCount, others + plan.CpuInstanceCount);
    }

    // Takes the model out of service: requests find no such model; the index keeps its versions' final states.
    private async Task RemoveAsync(string name, CancellationToken cancellationToken)
    {
        var gate = _modelLocks.GetOrAdd(name, _ => new SemaphoreSlim(1, 1));
        IReadOnlyList<ModelVersion> retiring;
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            retiring = RemoveLocked(name);
        }
        finally
        {
            gate.Release();
        }
        if (retiring.Count > 0)
        {
            await Task.WhenAll(retiring.Select(v => v.RetireAsync())).ConfigureAwait(false);
            LogUnloaded(name);
        }
    }

    private IReadOnlyList<ModelVersion> RemoveLocked(string name)
    {
        if (!_models.TryGetValue(name, out var current) || current.Unloaded)
        {
            return [];
        }
        var retiring = current.Versions.Values.ToList();
        Publish(new ModelEntry(name, new Dictionary<long, ModelVersion>(), "unloaded")
        {
            Unloaded = true,
            Retired = Merge(current.Retired, retiring, []),
        });
        LogUnloading(name);
        StartRetiring(retiring);
        return retiring;
    }

    private static Dictionary<long, ModelVersion> Merge(IReadOnlyDictionary<long, ModelVersion>? earlier, IEnumerable<ModelVersion> retiring, IEnumerable<long> live)
    {
        var retired = earlier is null ? new Dictionary<long, ModelVersion>() : new Dictionary<long, ModelVersion>(earlier);
        foreach (var version in retiring)
        {
            retired[version.Version] = version;
        }
        foreach (var number in live)
        {
            retired.Remove(number);
        }
        return retired;
    }

    // Swaps in a snapshot with this entry; readers see the old snapshot or the new one, whole.
    private void Publish(ModelEntry entry)
    {
        lock (_snapshotLock)
        {
            _models = new Dictionary<string, ModelEntry>(_models, StringComparer.Ordinal) { [entry.Name] = entry };
        }
    }

    // Only after the snapshot no longer routes to them: a request that still holds one was admitted
    // before (and finishes), a request that comes too late re-resolves to the new snapshot.
    private void StartRetiring(IEnumerable<ModelVersion> versions)
    {
        foreach (var version in versions)
        {
            var task = version.RetireAsync();
            _retiring[version] = task;
            _ = task.ContinueWith(_ => _retiring.TryRemove(version, out var _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    /// <summary>
    /// Finds the version a request addresses: the named one, or the highest READY one.
    /// Throws NotFound for an unknown model or version, Unavailable when it exists but cannot serve.
    /// </summary>
    public ModelVersion Resolve(string modelName, string? version)
    {
        if (!_models.TryGetValue(modelName, out var entry) || entry.Unloaded)
        {
            throw new InferenceException(InferenceErrorKind.NotFound, $"unknown model '{modelName}'");
        }
        if (string.IsNullOrEmpty(version))
        {
            return entry.LatestReady() ?? throw new InferenceException(InferenceErrorKind.Unavailable,
                $"model '{modelName}' has no ready version: {DescribeFailure(entry)}");
        }
        if (!long.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || !entry.Versions.TryGetValue(number, out var found))
        {
            throw new InferenceException(InferenceErrorKind.NotFound, $"unknown version '{version}' of model '{modelName}'");
        }
        if (found.State != ModelState.Ready)
        {
            throw new InferenceException(InferenceErrorKind.Unavailable, $"model '{modelName}' version {version} is not ready: {found.Reason}");
        }
        return found;
    }

    /// <summary>
    /// Resolves the model and runs the request on it. A request that resolves a version at the moment
    /// it is retired resolves again on the new snapshot, so swapping versions fails no request.
    /// </summary>
    public Task<InferenceResponse> InferAsync(InferenceRequest request, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var version = Resolve(request.ModelName, request.ModelVersion);
            if (version.TryEnter())
            {
                return version.RunEnteredAsync(request, cancellationToken);
            }
            // Retired after this snapshot was read; the swap that retired it is already visible.
            if (attempt == 3)
            {
                throw version.NotServing();
            }
        }
    }

    /// <summary>
    /// Every model and version with its state and reason, as the repository index reports them:
    /// serving and failed versions, retired ones (UNLOADING, then UNAVAILABLE "unloaded"), and in
    /// explicit mode the repository's models that are not loaded (UNAVAILABLE "not loaded").
    /// </summary>
    public IReadOnlyList<ModelIndexEntry> Index()
    {
        var models = _models;
        var index = new List<ModelIndexEntry>();
        var names = new SortedSet<string>(models.Keys, StringComparer.Ordinal);
        var duplicates = new HashSet<string>(StringComparer.Ordinal);
        if (_options.ModelControlMode == ModelControlMode.Explicit)
        {
            foreach (var repository in _options.ModelRepositories)
            {
                try
                {
                    foreach (var directory in Directory.EnumerateDirectories(repository))
                    {
                        var name = Path.GetFileName(directory);
                        if (!name.StartsWith('.') && !names.Add(name) && !models.ContainsKey(name))
                        {
                            duplicates.Add(name);
                        }
                    }
                }
                catch (IOException)
                {
                    // The index still lists what is loaded, and what the other repositories hold.
                }
            }
        }
        foreach (var name in names)
        {
            if (!models.TryGetValue(name, out var entry))
            {
                index.Add(new ModelIndexEntry(name, "", ModelState.Unavailable, duplicates.Contains(name) ? ModelRepositoryScanner.DuplicateReason : "not loaded"));
                continue;
            }
            var rows = new SortedDictionary<long, ModelVersion>(entry.Retired.ToDictionary(p => p.Key, p => p.Value));
            foreach (var (number, version) in entry.Versions)
            {
                rows[number] = version;
            }
            if (entry.Reason.Length > 0 && (rows.Count == 0 || !entry.Unloaded))
            {
                index.Add(new ModelIndexEntry(entry.Name, "", ModelState.Unavailable, entry.Reason));
            }
            foreach (var version in rows.Values)
            {
                index.Add(new ModelIndexEntry(entry.Name, version.VersionText, version.State, version.Reason));
            }
        }
        return index;
    }

    /// <summary>
    /// What went wrong in the startup load, one line per model it was asked for that is in no repository, is in several,
    /// or failed to load as a whole, and per version that failed; empty when everything loaded. For <c>--exit-on-error</c>.
    /// </summary>
    public IReadOnlyList<string> StartupFailures()
    {
        var models = _models;
        var failures = new List<string>();
        foreach (var name in _startupModels)
        {
            if (!models.TryGetValue(name, out var entry))
            {
                failures.Add($"'{name}': not found in any model repository");
                continue;
            }
            if (entry.Reason.Length > 0)
            {
                failures.Add($"'{name}': {entry.Reason}");
            }
            foreach (var version in entry.Versions.Values.OrderBy(v => v.Version))
            {
                if (version.State != ModelState.Ready)
                {
                    failures.Add($"'{name}' version {version.VersionText}: {version.Reason}");
                }
            }
        }
        return failures;
    }

    private static string DescribeFailure(ModelEntry entry) =>
        entry.Reason.Length > 0 ? entry.Reason : string.Join("; ", entry.Versions.Values.Select(v => $"version {v.VersionText}: {v.Reason}"));

    /// <summary>Stops watching the repository, then drains every version: accepted requests finish, then instances are released.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_poller is not null)
        {
            await _poller.DisposeAsync().ConfigureAwait(false);
        }
        List<ModelVersion> versions;
        lock (_snapshotLock)
        {
            versions = _models.Values.SelectMany(e => e.Versions.Values).ToList();
            _models = new Dictionary<string, ModelEntry>();
        }
        StartRetiring(versions);
        await Task.WhenAll(_retiring.Values.ToArray()).ConfigureAwait(false);
        _stopping.Dispose();
    }

    private sealed record ApplyOutcome(IReadOnlyList<string> Failures);

    [LoggerMessage(Level = LogLevel.Information, Message = "CPU threads: {Cores} core(s) shared by {Instances} CPU instance(s): {Threads} intra-op thread(s) each, unless a model's parameters set intra_op_thread_count")]
    private partial void LogThreadBudget(int cores, int instances, int threads);

    [LoggerMessage(Level = LogLevel.Error, Message = "--load-model names '{Model}', which is in no model repository")]
    private partial void LogMissingModel(string model);

    [LoggerMessage(Level = LogLevel.Error, Message = "Model '{Model}' is not loaded: it appears in two or more repositories ('{Folders}'); model names must be unique across the repositories")]
    private partial void LogDuplicateModel(string model, string folders);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model '{Model}': {Warning}")]
    private partial void LogConfigWarning(string model, string warning);

    [LoggerMessage(Level = LogLevel.Error, Message = "Model '{Model}' cannot load: {Reason}; its serving versions (if any) keep serving")]
    private partial void LogModelFailed(string model, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Model '{Model}' changed in the repository but did not load: {Reason}; what served keeps serving")]
    private partial void LogPollLoadFailed(string model, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model '{Model}' version {Version} resized in place: {Before} → {After} instance(s)")]
    private partial void LogResized(string model, long version, int before, int after);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model '{Model}' version {Version} could not be resized in place ({Reason}); reloading it")]
    private partial void LogResizeFailed(string model, long version, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model '{Model}' version {Version} retired: it takes no new requests and unloads once the accepted ones finish")]
    private partial void LogRetiring(string model, long version);

    [LoggerMessage(Level = LogLevel.Information, Message = "Unloading model '{Model}'")]
    private partial void LogUnloading(string model);

    [LoggerMessage(Level = LogLevel.Information, Message = "Unloaded model '{Model}'")]
    private partial void LogUnloaded(string model);
}
