using InferenceServer.Core.Backends;
using InferenceServer.Core.Models;
using InferenceServer.Core.Repository;
using Microsoft.Extensions.Logging;

namespace InferenceServer.Core.Lifecycle;

/// <summary>
/// Brings a model in the registry in line with its folder and load plan: keeps the versions that did not change
/// (resizing their instance groups when only counts changed), loads the others, lets the version policy choose which
/// serve, publishes the new entry, then retires what no longer serves. Nothing serving is touched when a load fails.
/// The caller holds the model's lock; loads of different models run in parallel, at most
/// <see cref="ModelLifecycleOptions.ModelLoadThreadCount"/> at a time.
/// </summary>
internal sealed partial class ModelReconciler(ModelRegistry registry, ModelLoader loader, VersionRetirement retirement, ModelLifecycleOptions options, ILogger logger,
    Residency.ModelResidency? residency = null)
{
    private readonly SemaphoreSlim _loadSlots = new(Math.Max(1, options.ModelLoadThreadCount));

    /// <summary>
    /// Applies <paramref name="plan"/> for <paramref name="directory"/>; returns one line per version (or model) that
    /// failed to load, empty when all loaded. <paramref name="signatures"/>: the version folders' signatures as the
    /// poller saw them complete (computed here when null). <paramref name="uploaded"/>: the folder of files the
    /// repository API wrote. <paramref name="intraOpThreads"/>: the threads each new instance gets (from the instances
    /// already serving when null). <paramref name="started"/> is called once the load has its slot and begins to work.
    /// Cancelling <paramref name="cancellationToken"/> stops the attempt with <see cref="OperationCanceledException"/>;
    /// nothing is published then.
    /// </summary>
    public async Task<IReadOnlyList<string>> ApplyAsync(ModelDirectory directory, ModelLoadPlan plan, IReadOnlyDictionary<long, string>? signatures,
        UploadedModelFolder? uploaded, int? intraOpThreads, Action started, CancellationToken cancellationToken)
    {
        var name = directory.Name;
        registry.Snapshot.Models.TryGetValue(name, out var current);
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
            registry.Publish(new ModelEntry(name, keep, plan.FailureReason) { Retired = Merge(current?.Retired, retire, keep.Keys) });
            retirement.Start(retire);
            return [plan.FailureReason];
        }

        var configKey = ModelLoader.ConfigKey(plan.Config);
        var ready = new Dictionary<long, ModelVersion>();
        var failed = new Dictionary<long, ModelVersion>();
        // The index shows the versions LOADING until this attempt ends. Cancelling the token (an unload, the shutdown,
        // the load's deadline) stops the attempt wherever it is; nothing is published then, so what served keeps serving.
        using var loading = registry.BeginLoading(name, plan.Versions);
        await _loadSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            started();
            var threads = intraOpThreads ?? ThreadsFor(plan, name);
            foreach (var number in plan.Versions)
            {
                var signature = signatures is not null && signatures.TryGetValue(number, out var given) ? given : FolderSignature.Compute(directory.Versions[number]);
                if (serving.TryGetValue(number, out var existing) && existing.FilesSignature.Length > 0
                    && existing.FilesSignature == signature && existing.ConfigKey == configKey
                    && await KeepAsync(existing, plan.Config, cancellationToken).ConfigureAwait(false))
                {
                    ready[number] = existing;
                    continue;
                }
                var owned = uploaded?.Acquire();
                ModelVersion loaded;
                try
                {
                    // Through the residency: within the memory budgets (evicting to make room), its footprint measured.
                    loaded = residency is null
                        ? await loader.LoadVersionAsync(plan, number, threads, signature, owned, cancellationToken).ConfigureAwait(false)
                        : await residency.LoadAsync(plan, number, signature,
                            token => loader.LoadVersionAsync(plan, number, threads, signature, owned, token), cancellationToken).ConfigureAwait(false);
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
            retirement.Start(ready.Values.Where(v => !serving.ContainsValue(v)).ToList());
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
        registry.Publish(new ModelEntry(name, versions, "") { Retired = Merge(current?.Retired, retiring, versions.Keys) });
        foreach (var version in retiring)
        {
            LogRetiring(name, version.Version);
        }
        retirement.Start(retiring);
        return new LoadFailures(failed.Values.Select(v => $"version {v.VersionText}: {v.Reason}").ToList(),
            configRefused: failed.Count > 0 && failed.Values.All(v => v.ConfigRefused));
    }

    /// <summary>
    /// Takes the model out of service, under its lock: requests find no such model; the index keeps its versions'
    /// final states. Returns the versions now retiring (empty when it was not loaded).
    /// </summary>
    public IReadOnlyList<ModelVersion> Remove(string name, string reason = "unloaded")
    {
        if (!registry.Snapshot.Models.TryGetValue(name, out var current) || current.Unloaded)
        {
            return [];
        }
        var retiring = current.Versions.Values.ToList();
        foreach (var version in retiring)
        {
            version.UnloadedReason = reason;
        }
        registry.Publish(new ModelEntry(name, new Dictionary<long, ModelVersion>(), reason)
        {
            Unloaded = true,
            Retired = Merge(current.Retired, retiring, []),
        });
        LogUnloading(name);
        retirement.Start(retiring);
        return retiring;
    }

    // An unchanged version stays; when only instance counts changed it is resized in place. False: reload it instead.
    private async Task<bool> KeepAsync(ModelVersion existing, ModelConfig config, CancellationToken cancellationToken)
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
            resized = await existing.ResizeAsync(groups, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ModelLoadException or BackendException)
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
        foreach (var entry in registry.Snapshot.Models.Values)
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

    [LoggerMessage(Level = LogLevel.Error, Message = "Model '{Model}' cannot load: {Reason}; its serving versions (if any) keep serving")]
    private partial void LogModelFailed(string model, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model '{Model}' version {Version} resized in place: {Before} → {After} instance(s)")]
    private partial void LogResized(string model, long version, int before, int after);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model '{Model}' version {Version} could not be resized in place ({Reason}); reloading it")]
    private partial void LogResizeFailed(string model, long version, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model '{Model}' version {Version} retired: it takes no new requests and unloads once the accepted ones finish")]
    private partial void LogRetiring(string model, long version);

    [LoggerMessage(Level = LogLevel.Information, Message = "Unloading model '{Model}'")]
    private partial void LogUnloading(string model);
}
