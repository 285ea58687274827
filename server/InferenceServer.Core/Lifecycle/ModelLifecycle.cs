using System.Collections.Concurrent;
using InferenceServer.Core.Features;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Models;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Routing;
using Microsoft.Extensions.Logging;

namespace InferenceServer.Core.Lifecycle;

/// <summary>
/// Changes what the registry holds: the startup load, the repository API's load and unload (with uploaded files), and
/// in poll mode the repository watcher's changes. A new version is loaded and warmed up outside the registry, published,
/// and only then are the versions it replaced retired (they finish the requests they accepted, then release their
/// instances), so no request ever meets a half-loaded model.
/// </summary>
/// <remarks>
/// <para>A folder's routing.pbtxt is read wherever its model is (the startup load, the repository API, poll mode) and
/// published in the registry once the model applies. Beside a model, a file that does not read fails the model's load
/// as a bad config.pbtxt does: nothing of the folder changes, what served (versions and route) keeps serving. A folder
/// holding only a routing.pbtxt is a route of other models, never a model without versions; its failures are recorded
/// for the index under the route's name.</para>
/// <para>A folder's features.pbtxt (its feature view) is read with its routing.pbtxt, everywhere, and checked against the
/// model's config (its inputs, their types and widths): a view that does not read or does not fit fails the folder's
/// load the same way, and one that applies is published under the folder's name once the model's versions serve.</para>
/// <para>Changes to one model are serialized by a per-model lock; changes to different models run in parallel (the
/// <see cref="ModelReconciler"/> bounds how many load at once). The lifecycle also records in the registry what the
/// repositories hold, so the repository index never reads the disk itself.</para>
/// </remarks>
internal sealed partial class ModelLifecycle : IAsyncDisposable
{
    // The longest folder name the common file systems (ext4, xfs, NTFS) allow: a model name is one.
    private const int MaxModelNameBytes = 255;

    /// <summary>The index's reason for a route taken out (its folder removed, or the repository API's unload), as for a model.</summary>
    internal const string RouteUnloaded = "unloaded";

    private readonly ModelRegistry _registry;
    private readonly ModelLoader _loader;
    private readonly ModelReconciler _reconciler;
    private readonly VersionRetirement _retirement = new();
    private readonly ModelLifecycleOptions _options;
    private readonly ILogger<ModelLifecycle> _logger;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _modelLocks = new(StringComparer.Ordinal);
    // Per model with loads running or waiting, what an unload cancels them with; guarded by itself.
    private readonly Dictionary<string, LoadCancellation> _loads = new(StringComparer.Ordinal);
    private readonly UploadQuota _uploadQuota;
    private readonly CancellationTokenSource _stopping = new();
    private volatile bool _startupComplete;
    private volatile IReadOnlyList<string> _startupModels = [];
    private ModelRepositoryPoller? _poller;
    private int _disposed;

    /// <summary>Creates the lifecycle; <paramref name="timeProvider"/> is the clock of poll mode's completion rule.</summary>
    public ModelLifecycle(ModelRegistry registry, ModelLoader loader, ModelLifecycleOptions options, ILogger<ModelLifecycle> logger, TimeProvider? timeProvider = null,
        Residency.ModelResidency? residency = null)
    {
        _registry = registry;
        _loader = loader;
        _options = options;
        _logger = logger;
        _time = timeProvider ?? TimeProvider.System;
        _reconciler = new ModelReconciler(registry, loader, _retirement, options, logger, residency);
        if (residency is not null)
        {
            residency.Evict = TryEvict;
        }
        _uploadQuota = new UploadQuota(options.ModelUploadMaxTotalBytes);
    }

    // Where uploaded model files go, one fresh folder per load.
    private string UploadParent => _options.UploadDirectory.Length > 0 ? _options.UploadDirectory : Path.Combine(Path.GetTempPath(), "inference-server-uploads");

    /// <summary>True once the startup load has finished (whatever each model's outcome).</summary>
    public bool StartupComplete => _startupComplete;

    /// <summary>
    /// The models the startup load was asked for, sorted: every model (and route of its own folder) of the repositories
    /// (none and poll modes, and explicit mode with <c>--load-model '*'</c>), else the <c>--load-model</c> names, including
    /// names that are in no repository. Empty until the startup load has begun.
    /// </summary>
    public IReadOnlyList<string> StartupModels => _startupModels;

    /// <summary>
    /// Loads the repository as the control mode says: everything (none, poll) or the
    /// <c>--load-model</c> list (explicit). Models load in parallel; a failing model does not stop the
    /// others. In poll mode, watching the repository starts once the startup load is done.
    /// </summary>
    public async Task LoadRepositoryAsync(CancellationToken cancellationToken)
    {
        // A server killed with uploaded models loaded left their files behind.
        if (UploadFolders.RemoveStale(UploadParent) is > 0 and var removed)
        {
            LogStaleUploadsRemoved(removed);
        }
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
        if (_options.ModelControlMode is ModelControlMode.Explicit or ModelControlMode.OnDemand)
        {
            // The index lists the repositories' models that are not loaded; on demand, only --load-model names load now.
            _registry.Record(new RepositoryContents(new HashSet<string>(wanted, StringComparer.Ordinal), new HashSet<string>(duplicates, StringComparer.Ordinal)));
            if (!_options.LoadModels.Contains(ModelLifecycleOptions.AllModels))
            {
                var found = wanted;
                // (In on-demand mode an empty list loads nothing: every model waits for its first request.)
                wanted = new SortedSet<string>(_options.LoadModels, StringComparer.Ordinal);
                foreach (var missing in wanted.Where(w => !found.Contains(w)))
                {
                    LogMissingModel(missing);
                }
                directories = directories.Where(d => wanted.Contains(d.Name)).ToList();
                duplicates.IntersectWith(wanted);
            }
        }
        _startupModels = wanted.ToArray();
        foreach (var name in duplicates)
        {
            LogDuplicateModel(name, string.Join("', '", ModelRepositoryScanner.Locate(_options.ModelRepositories, name)));
            _registry.Publish(new ModelEntry(name, new Dictionary<long, ModelVersion>(), ModelRepositoryScanner.DuplicateReason));
        }

        // Plan every model first, so the cores can be divided among all the instances at once.
        var plans = directories.Where(d => !d.IsRouteOnly).Select(d => Plan(d, null)).ToList();
        var cpuInstances = plans.Sum(p => p.CpuInstanceCount);
        var threads = CpuThreadBudget.ThreadsPerInstance(Environment.ProcessorCount, cpuInstances);
        LogThreadBudget(Environment.ProcessorCount, cpuInstances, threads);

        await Task.WhenAll(plans.Select(plan => (Task)ApplyAsync(plan, null, null, threads, null, cancellationToken))
            .Concat(directories.Where(d => d.IsRouteOnly).Select(d => (Task)ApplyRouteOnlyAsync(d, cancellationToken)))).ConfigureAwait(false);
        _startupComplete = true;
        _poller?.Start();
    }

    /// <summary>
    /// Begins the files of a repository-API load (explicit mode only): an empty folder for <paramref name="modelName"/>'s
    /// files, written as the request is read. The caller disposes it once the load is done.
    /// </summary>
    /// <exception cref="InferenceException">InvalidArgument for a bad model name; Unavailable when the control mode forbids loads or the folder cannot be made.</exception>
    public ModelUpload BeginUpload(string modelName)
    {
        RequireExplicitMode();
        ValidateModelName(modelName);
        var parent = UploadParent;
        try
        {
            return new ModelUpload(modelName, UploadedModelFolder.Create(parent, modelName, _options.ModelUploadMaxBytes, _uploadQuota));
        }
        catch (InferenceException e)
        {
            throw new InferenceException(e.Kind, $"failed to load '{modelName}': {e.Message}");
        }
    }

    /// <summary>
    /// The repository API's load (explicit mode only): loads the model, or reloads it when it is
    /// loaded, optionally with a JSON config and uploaded model files instead of the repository's; the folder's
    /// routing.pbtxt is read again too (not with uploaded files), and a folder holding only a routing.pbtxt loads as that
    /// route (its variants' models are loaded on their own). Completes
    /// once the new versions serve (or the load failed, leaving what served untouched). Versions
    /// whose files and config did not change keep serving as they are; a config that changes only
    /// instance_group counts resizes them in place. The load stops, changing nothing, when the caller cancels
    /// <paramref name="cancellationToken"/> (the client went away), when the model is unloaded meanwhile, when the server
    /// shuts down, and past its deadline (<see cref="ModelLoadOverrides.Timeout"/>, or the server's load timeout).
    /// </summary>
    /// <exception cref="InferenceException">
    /// InvalidArgument for a bad model name, config or file path, or a config given with the request that the backend
    /// refuses (see <see cref="LoadFailures.ConfigRefused"/>); NotFound when the repository has no
    /// such model (and no files were given); DeadlineExceeded past the deadline; Unavailable when the control mode forbids
    /// it, the load failed, or an unload or the shutdown cancelled it.
    /// </exception>
    public Task LoadModelAsync(string modelName, ModelLoadOverrides? overrides, CancellationToken cancellationToken)
    {
        RequireExplicitMode();
        return LoadAsync(modelName, overrides, cancellationToken);
    }

    /// <summary>
    /// On-demand mode's load of a model a request asked for (see <see cref="LoadModelAsync"/>, from the repository only);
    /// the caller coalesces the requests that wait for one model.
    /// </summary>
    public Task LoadOnDemandAsync(string modelName, CancellationToken cancellationToken) => LoadAsync(modelName, null, cancellationToken);

    /// <summary>
    /// Unloads <paramref name="name"/> to make room under a memory budget: its requests in flight finish, new ones load it
    /// again (on demand). Null when a load or unload of it holds its lock now (it is not evicted then).
    /// </summary>
    private IReadOnlyList<ModelVersion>? TryEvict(string name)
    {
        var gate = _modelLocks.GetOrAdd(name, _ => new SemaphoreSlim(1, 1));
        if (!gate.Wait(0))
        {
            return null;
        }
        try
        {
            return _reconciler.Remove(name, "evicted to keep within the memory budget (room for another model, or for the server's own memory); loads again on its next request");
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task LoadAsync(string modelName, ModelLoadOverrides? overrides, CancellationToken cancellationToken)
    {
        ValidateModelName(modelName);
        ModelConfigReadResult? configOverride = null;
        if (overrides?.ConfigJson is { } json)
        {
            try
            {
                var result = ModelConfigJson.Parse(json, "load parameter 'config'", _options.ConfigLimits);
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
        if (overrides?.Files is { FileCount: > 0 } files)
        {
            if (files.ModelName != modelName)
            {
                throw new ArgumentException($"the files were uploaded for '{files.ModelName}', not '{modelName}'", nameof(overrides));
            }
            if (configOverride is null)
            {
                throw InferenceException.Invalid($"failed to load '{modelName}': model files given as 'file:' parameters need the 'config' parameter too, to describe the model");
            }
            uploaded = files.Folder;
            directory = ScanModel(modelName, uploaded.ModelPath);
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
            directory = ScanModel(modelName, found[0]);
            if (configOverride is null && directory.IsRouteOnly)
            {
                if (await ApplyRouteOnlyAsync(directory, cancellationToken).ConfigureAwait(false) is { } failure)
                {
                    throw new InferenceException(InferenceErrorKind.Unavailable, HidePaths($"failed to load '{modelName}': {failure}"));
                }
                return;
            }
        }

        // Uploaded files replace versions, not the folder: the route declared in the repository stays as it is.
        var plan = uploaded is null ? Plan(directory, configOverride) : _loader.Plan(directory, configOverride);
        var (failures, timedOut) = await ApplyAsync(plan, null, uploaded, null, overrides?.Timeout, cancellationToken).ConfigureAwait(false);
        if (failures.Count > 0)
        {
            // A config the request brought that the backend (or the model) refuses is the client's to fix, as a config
            // the validator refuses is; the same refusal of the repository's own config.pbtxt is the server's state.
            var kind = timedOut ? InferenceErrorKind.DeadlineExceeded
                : configOverride is not null && failures is LoadFailures { ConfigRefused: true } ? InferenceErrorKind.InvalidArgument
                : InferenceErrorKind.Unavailable;
            throw new InferenceException(kind, HidePaths($"failed to load '{modelName}': {string.Join("; ", failures)}"));
        }
    }

    /// <summary>
    /// The repository API's unload (explicit mode only): the model stops taking requests, and the route of its name (beside
    /// it, or of its own folder) is taken out; completes
    /// once every version has finished the requests it accepted and released its instances. A load of the model that is
    /// running or waiting is cancelled first (it fails; nothing it loaded serves).
    /// <paramref name="unloadDependents"/> is accepted for Triton's API; this server has no ensembles,
    /// so no model depends on another.
    /// </summary>
    /// <exception cref="InferenceException">NotFound when neither the registry nor the repository knows the model; Unavailable when the control mode forbids it.</exception>
    public async Task UnloadModelAsync(string modelName, bool unloadDependents, CancellationToken cancellationToken)
    {
        RequireExplicitMode();
        ValidateModelName(modelName);
        var loading = CancelLoads(modelName);
        var snapshot = _registry.Snapshot;
        if (!loading && !snapshot.Models.ContainsKey(modelName) && !snapshot.Routes.ContainsKey(modelName)
            && ModelRepositoryScanner.Locate(_options.ModelRepositories, modelName).Count == 0)
        {
            throw new InferenceException(InferenceErrorKind.NotFound, $"failed to unload '{modelName}': unknown model");
        }
        var retiring = await WithModelLockAsync(modelName, () =>
        {
            var versions = _reconciler.Remove(modelName);
            RemoveRoute(modelName);
            PublishView(modelName, null);
            return Task.FromResult(versions);
        }, cancellationToken).ConfigureAwait(false);
        if (retiring.Count > 0)
        {
            await Task.WhenAll(retiring.Select(v => v.RetireAsync())).ConfigureAwait(false);
            LogUnloaded(modelName);
        }
    }

    /// <summary>
    /// In explicit mode, records in the registry what the repositories hold now, so the index lists a model folder added
    /// (or removed) since the last look, as Triton's index does; in the other modes every model of the repositories is
    /// loaded or being watched, and the registry already lists them.
    /// </summary>
    public void RefreshRepositoryContents()
    {
        if (_options.ModelControlMode is not (ModelControlMode.Explicit or ModelControlMode.OnDemand))
        {
            return;
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        var duplicates = new HashSet<string>(StringComparer.Ordinal);
        foreach (var repository in _options.ModelRepositories)
        {
            try
            {
                foreach (var directory in Directory.EnumerateDirectories(repository))
                {
                    var name = Path.GetFileName(directory);
                    if (!name.StartsWith('.') && !names.Add(name))
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
        _registry.Record(new RepositoryContents(names, duplicates));
    }

    private void RequireExplicitMode()
    {
        if (_options.ModelControlMode is not (ModelControlMode.Explicit or ModelControlMode.OnDemand))
        {
            // Triton's words, which clients match on; then what this server's mode is.
            throw new InferenceException(InferenceErrorKind.Unavailable,
                $"explicit model load / unload is not allowed if polling is enabled (the model control mode is '{_options.ModelControlMode.ToString().ToLowerInvariant()}'; start the server with --model-control-mode explicit)");
        }
    }

    // A model name becomes a folder name (in the repositories and the upload folder): one path segment the file system
    // can hold. Every way in (REST after decoding its path, gRPC, the front door) reaches load and unload through here.
    private static void ValidateModelName(string modelName)
    {
        if (modelName.Length == 0 || modelName.StartsWith('.')
            || modelName.AsSpan().IndexOfAny('/', '\\') >= 0
            || modelName.AsSpan().IndexOfAnyInRange('\0', '\u001f') >= 0 || modelName.AsSpan().IndexOfAnyInRange('\u007f', '\u009f') >= 0
            || System.Text.Encoding.UTF8.GetByteCount(modelName) > MaxModelNameBytes)
        {
            var shown = modelName.Length <= 80 ? modelName : string.Concat(modelName.AsSpan(0, 77), "...");
            throw InferenceException.Invalid(
                $"'{shown}' is not a model name: it must be a folder name of the repository (one path segment of at most {MaxModelNameBytes} bytes, without '/', '\\', control characters or a leading '.')");
        }
    }

    // Reads the model folder's layout; a folder that cannot be read fails the load naming the model, not the server path.
    private ModelDirectory ScanModel(string modelName, string path)
    {
        try
        {
            return ModelRepositoryScanner.ScanModel(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InferenceException(InferenceErrorKind.Unavailable, HidePaths($"failed to load '{modelName}': cannot read its model folder: {e.Message}"));
        }
    }

    // What reaches a client names no server path: the repositories and the upload folder by what they are.
    private string HidePaths(string message)
    {
        foreach (var repository in _options.ModelRepositories)
        {
            message = message.Replace(Path.GetFullPath(repository), "<model repository>", StringComparison.Ordinal);
        }
        var uploads = UploadParent;
        return message.Replace(Path.GetFullPath(uploads), "<upload folder>", StringComparison.Ordinal);
    }

    // Plans a model folder's load, its routing.pbtxt and features.pbtxt read first: a route that does not read fails the
    // model's load as a bad config does, so versions declared as a 10% canary never serve all the traffic for want of
    // their route; a view that does not read, or does not fit the config, fails it too, so no request is ever encoded
    // for inputs the model does not have.
    private ModelLoadPlan Plan(ModelDirectory directory, ModelConfigReadResult? configOverride)
    {
        var (route, failure) = ReadRoute(directory);
        var (view, viewFailure) = ReadView(directory);
        if ((failure ?? viewFailure) is { } reason)
        {
            return ModelLoadPlan.Failed(directory, reason);
        }
        var plan = _loader.Plan(directory, configOverride) with { RouteRead = true, Route = route, View = view };
        return plan.FailureReason.Length == 0 && view is not null && CheckView(view, plan.Config) is { } mismatch
            ? ModelLoadPlan.Failed(directory, mismatch)
            : plan;
    }

    // A view is checked against the config as written; a config that leaves its inputs to the model file (auto-complete)
    // has none to check against until the model loads, and the view's shapes are then checked by the request they build.
    private static string? CheckView(FeatureView view, ModelConfig? config)
    {
        if (config is not { Input.Count: > 0 })
        {
            return null;
        }
        try
        {
            FeatureViewReader.CheckModel(view, config);
            return null;
        }
        catch (FeatureViewException e)
        {
            return e.Message;
        }
    }

    // Applies a plan under its model's lock (see BoundedAsync).
    private Task<(IReadOnlyList<string> Failures, bool TimedOut)> ApplyAsync(ModelLoadPlan plan, IReadOnlyDictionary<long, string>? signatures,
        UploadedModelFolder? uploaded, int? threads, TimeSpan? timeout, CancellationToken cancellationToken) =>
        BoundedAsync(plan.Directory.Name, timeout, cancellationToken, (started, token) =>
            WithModelLockAsync(plan.Directory.Name, () => ReconcileAsync(plan, signatures, uploaded, threads, started, token), token));

    // Applies a plan whose model's lock the caller holds (see BoundedAsync).
    private Task<(IReadOnlyList<string> Failures, bool TimedOut)> ApplyUnderLockAsync(ModelLoadPlan plan, IReadOnlyDictionary<long, string>? signatures,
        CancellationToken cancellationToken) =>
        BoundedAsync(plan.Directory.Name, null, cancellationToken, (started, token) => ReconcileAsync(plan, signatures, null, null, started, token));

    // A new or changed route goes in before the model's versions: a version it names that is not loaded yet takes no
    // traffic, so a canary added together with its route never serves as "the newest" for the moment between the two.
    // A route taken out goes after them. A load stopped midway (an unload, the deadline) publishes no removal.
    private async Task<IReadOnlyList<string>> ReconcileAsync(ModelLoadPlan plan, IReadOnlyDictionary<long, string>? signatures, UploadedModelFolder? uploaded,
        int? threads, Action started, CancellationToken cancellationToken)
    {
        var publishes = plan.RouteRead && plan.FailureReason.Length == 0;
        if (publishes && plan.Route is not null)
        {
            PublishRoute(plan.Directory.Name, plan.Route);
        }
        var failures = await _reconciler.ApplyAsync(plan.Directory, plan, signatures, uploaded, threads, started, cancellationToken).ConfigureAwait(false);
        if (publishes && plan.Route is null)
        {
            PublishRoute(plan.Directory.Name, null);
        }
        // After the versions: a view for changed inputs must not meet the versions it replaces. A version that failed
        // keeps the old versions serving, and so the view that fits them.
        if (publishes && failures.Count == 0)
        {
            PublishView(plan.Directory.Name, plan.View);
        }
        return failures;
    }

    // Loads a folder that holds only a routing.pbtxt, under its name's lock; returns why it failed, null when it applied.
    private Task<string?> ApplyRouteOnlyAsync(ModelDirectory directory, CancellationToken cancellationToken) =>
        WithModelLockAsync(directory.Name, () => Task.FromResult(ApplyRouteOnly(directory)), cancellationToken);

    // The caller holds the name's lock. A file that does not read leaves the published route serving, and the index says why.
    private string? ApplyRouteOnly(ModelDirectory directory)
    {
        var name = directory.Name;
        var (route, failure) = ReadRoute(directory);
        var (view, viewFailure) = ReadView(directory);
        failure ??= viewFailure;
        if (failure is not null)
        {
            LogRouteFailed(name, failure);
            _registry.RecordRouteReason(name, failure);
            return failure;
        }
        // The folder held a model before (its files changed since): its name now routes to other models.
        _reconciler.Remove(name);
        PublishRoute(name, route);
        PublishView(name, view);
        return null;
    }

    // Reads and checks the folder's routing.pbtxt: no route and no failure when it has none. Messages name the file as
    // route/routing.pbtxt, never by its server path.
    private (RouteDeclaration? Route, string? Failure) ReadRoute(ModelDirectory directory)
    {
        if (directory.RoutePath is not { } path)
        {
            return (null, null);
        }
        try
        {
            if (!_options.RepositoryFollowSymlinks && SymbolicLinks.FirstLink(directory.Path, path) is { } link)
            {
                return (null, Relative(directory, SymbolicLinks.Refused(link)));
            }
            return (RoutingConfigReader.Parse(File.ReadAllText(path), directory.Name, directory.HoldsModel), null);
        }
        catch (ModelConfigException e)
        {
            return (null, e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, Relative(directory, $"cannot read '{directory.Name}/{ModelRepositoryScanner.RouteFileName}': {e.Message}"));
        }
    }

    // Reads and compiles the folder's features.pbtxt: no view and no failure when it has none. Messages name the file as
    // folder/features.pbtxt, never by its server path.
    private (FeatureView? View, string? Failure) ReadView(ModelDirectory directory)
    {
        if (directory.FeaturesPath is not { } path)
        {
            return (null, null);
        }
        try
        {
            if (!_options.RepositoryFollowSymlinks && SymbolicLinks.FirstLink(directory.Path, path) is { } link)
            {
                return (null, Relative(directory, SymbolicLinks.Refused(link)));
            }
            return (FeatureViewReader.Parse(File.ReadAllText(path), directory.Name), null);
        }
        catch (FeatureViewException e)
        {
            return (null, e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, Relative(directory, $"cannot read '{directory.Name}/{ModelRepositoryScanner.FeaturesFileName}': {e.Message}"));
        }
    }

    // Publishes the view read from the folder called name; null takes out the one published (the file is gone).
    private void PublishView(string name, FeatureView? view)
    {
        var current = _registry.Snapshot.Views.GetValueOrDefault(name);
        if (view is null ? current is not null : !view.SameAs(current))
        {
            if (view is null)
            {
                LogViewRemoved(name);
            }
            else
            {
                LogViewPublished(name, view.Version, string.Join(", ", view.Outputs.Select(o => $"{o.Name} [{o.Width}]")));
            }
        }
        _registry.PublishView(name, view);
    }

    private static string Relative(ModelDirectory directory, string reason) => reason.Replace(directory.Path, directory.Name, StringComparison.Ordinal);

    // Publishes the route read from the folder called name; null takes out the one published (the file is gone).
    private void PublishRoute(string name, RouteDeclaration? route)
    {
        if (route is null)
        {
            RemoveRoute(name);
            return;
        }
        if (!route.SameAs(_registry.Snapshot.Routes.GetValueOrDefault(name)))
        {
            LogRoutePublished(name, string.Join(", ", route.Config.Variant.Select(v =>
                $"{v.Name} ({v.Model}{(v.Version > 0 ? $" version {v.Version}" : "")}, weight {v.Weight})")));
        }
        _registry.PublishRoute(name, route);
        _registry.RecordRouteReason(name, "");
    }

    private void RemoveRoute(string name)
    {
        var published = _registry.Snapshot.Routes.ContainsKey(name);
        if (published)
        {
            _registry.PublishRoute(name, null);
            LogRouteRemoved(name);
        }
        if (published || _registry.RouteReason(name).Length > 0)
        {
            _registry.RecordRouteReason(name, RouteUnloaded);
        }
    }

    // Runs a load bounded as every load is: cancelled by an unload of the model, the shutdown, the caller, the load's own
    // timeout (from now) and the server's (from when the load takes its slot, so that models queued behind others at
    // startup are not cut short). A load cancelled other than by its caller (or the shutdown) fails with the reason,
    // TimedOut telling a deadline from an unload; the reconciler publishes nothing it loaded then.
    private async Task<(IReadOnlyList<string> Failures, bool TimedOut)> BoundedAsync(string name, TimeSpan? timeout, CancellationToken cancellationToken,
        Func<Action, CancellationToken, Task<IReadOnlyList<string>>> load)
    {
        var serverLimit = _options.ModelLoadTimeoutSeconds > 0 ? TimeSpan.FromSeconds(_options.ModelLoadTimeoutSeconds) : Timeout.InfiniteTimeSpan;
        using var serverDeadline = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _time);
        using var ownDeadline = new CancellationTokenSource(timeout is { } given ? (given < TimeSpan.Zero ? TimeSpan.Zero : given) : Timeout.InfiniteTimeSpan, _time);
        var unload = BeginLoad(name);
        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(
                [cancellationToken, _stopping.Token, unload.Source.Token, serverDeadline.Token, ownDeadline.Token]);
            return (await load(() => serverDeadline.CancelAfter(serverLimit), linked.Token).ConfigureAwait(false), false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            var timedOut = !_stopping.IsCancellationRequested && (ownDeadline.IsCancellationRequested || serverDeadline.IsCancellationRequested);
            var reason = _stopping.IsCancellationRequested ? "the server is shutting down"
                : ownDeadline.IsCancellationRequested
                ? $"the load did not finish within its timeout of {timeout!.Value.TotalSeconds:0.###} s"
                : serverDeadline.IsCancellationRequested
                    ? $"the load did not finish within {_options.ModelLoadTimeoutSeconds:0.###} s (--model-load-timeout-secs)"
                    : "the load was cancelled by an unload of the model";
            LogLoadCancelled(name, reason);
            if (timedOut)
            {
                // A model's first load published nothing: the index (and the startup's failures) say why it is not there.
                _registry.PublishIfAbsent(new ModelEntry(name, new Dictionary<long, ModelVersion>(), reason));
            }
            return ([$"{reason}; what served keeps serving"], timedOut);
        }
        finally
        {
            EndLoad(name, unload);
        }
    }

    private LoadCancellation BeginLoad(string name)
    {
        lock (_loads)
        {
            if (!_loads.TryGetValue(name, out var loads))
            {
                _loads[name] = loads = new LoadCancellation();
            }
            loads.Count++;
            return loads;
        }
    }

    private void EndLoad(string name, LoadCancellation loads)
    {
        lock (_loads)
        {
            if (--loads.Count > 0)
            {
                return;
            }
            if (!_loads.TryGetValue(name, out var current) || current != loads)
            {
                // An unload took it out and cancels it, perhaps right now; a source without a timer holds nothing to release.
                return;
            }
            _loads.Remove(name);
        }
        loads.Source.Dispose();
    }

    // Cancels the model's loads, running or waiting for its lock; true when there were any.
    private bool CancelLoads(string name)
    {
        lock (_loads)
        {
            // Loads begun after this get a new source: the unload cancels only what came before it. Cancelled under the
            // lock, so no load ending meanwhile disposes it (a load that ends inside Cancel re-enters this lock).
            if (!_loads.Remove(name, out var loads))
            {
                return false;
            }
            loads.Source.Cancel();
            return true;
        }
    }

    // The loads of one model that an unload cancels together; Count is changed under the lifecycle's _loads lock.
    private sealed class LoadCancellation
    {
        public CancellationTokenSource Source { get; } = new();

        public int Count { get; set; }
    }

    // The poller's hand-over: under the model's lock, apply the newest change the poller saw.
    private Task ApplyLatestChangeAsync(string name, Func<RepositoryChange?> takeLatest)
    {
        var token = _stopping.Token;
        return WithModelLockAsync<object?>(name, async () =>
        {
            // Taken under the lock: a newer change that arrives meanwhile is applied after this one.
            var change = takeLatest();
            if (change is null)
            {
                return null;
            }
            if (change.Directory is not { } directory)
            {
                _reconciler.Remove(name);
                RemoveRoute(name);
                PublishView(name, null);
                return null;
            }
            if (directory.IsRouteOnly)
            {
                ApplyRouteOnly(directory);
                return null;
            }
            ModelLoadPlan plan;
            if (change.ModelChanged || (_registry.Snapshot.Models.TryGetValue(name, out var current) && current.Reason.Length > 0 && !current.Unloaded))
            {
                plan = Plan(directory, null);
            }
            else
            {
                // Only routing.pbtxt or features.pbtxt changed and the model serves as its folder says: they alone are read
                // again (the view checked against the config the model serves with), the versions serve on untouched. A
                // file that does not read fails the model as a whole, keeping what serves.
                var (route, routeFailure) = ReadRoute(directory);
                var (view, viewFailure) = ReadView(directory);
                var failure = routeFailure ?? viewFailure
                    ?? (view is null ? null : CheckView(view, _registry.Snapshot.Models.GetValueOrDefault(name)?.LatestReady()?.Config));
                if (failure is null)
                {
                    PublishRoute(name, route);
                    PublishView(name, view);
                    return null;
                }
                plan = ModelLoadPlan.Failed(directory, failure);
            }
            foreach (var failure in (await ApplyUnderLockAsync(plan, change.Signatures, token).ConfigureAwait(false)).Failures)
            {
                LogPollLoadFailed(name, failure);
            }
            return null;
        }, token);
    }

    private async Task<T> WithModelLockAsync<T>(string name, Func<Task<T>> change, CancellationToken cancellationToken)
    {
        var gate = _modelLocks.GetOrAdd(name, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await change().ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Cancels every load in progress or waiting, and any the poller would start: the server is shutting down.</summary>
    public void BeginStopping()
    {
        try
        {
            _stopping.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already disposed: everything was stopped then.
        }
    }

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
        _retirement.Start(_registry.Clear());
        await _retirement.DrainAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "CPU threads: {Cores} core(s) shared by {Instances} CPU instance(s): {Threads} intra-op thread(s) each, unless a model's parameters set intra_op_thread_count")]
    private partial void LogThreadBudget(int cores, int instances, int threads);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed {Count} folder(s) of uploaded model files left by a server that is no longer running")]
    private partial void LogStaleUploadsRemoved(int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "--load-model names '{Model}', which is in no model repository")]
    private partial void LogMissingModel(string model);

    [LoggerMessage(Level = LogLevel.Error, Message = "Model '{Model}' is not loaded: it appears in two or more repositories ('{Folders}'); model names must be unique across the repositories")]
    private partial void LogDuplicateModel(string model, string folders);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model '{Model}': {Warning}")]
    private partial void LogConfigWarning(string model, string warning);

    [LoggerMessage(Level = LogLevel.Error, Message = "Model '{Model}' changed in the repository but did not load: {Reason}; what served keeps serving")]
    private partial void LogPollLoadFailed(string model, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model '{Model}' did not load: {Reason}; what served keeps serving")]
    private partial void LogLoadCancelled(string model, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Unloaded model '{Model}'")]
    private partial void LogUnloaded(string model);

    [LoggerMessage(Level = LogLevel.Information, Message = "Route '{Route}' published: {Variants}")]
    private partial void LogRoutePublished(string route, string variants);

    [LoggerMessage(Level = LogLevel.Information, Message = "Route '{Route}' taken out")]
    private partial void LogRouteRemoved(string route);

    [LoggerMessage(Level = LogLevel.Information, Message = "Feature view '{View}' version {Version} published: {Outputs}")]
    private partial void LogViewPublished(string view, long version, string outputs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Feature view '{View}' taken out")]
    private partial void LogViewRemoved(string view);

    [LoggerMessage(Level = LogLevel.Error, Message = "Route '{Route}' did not load: {Reason}; the route published before (if any) keeps serving")]
    private partial void LogRouteFailed(string route, string reason);
}
