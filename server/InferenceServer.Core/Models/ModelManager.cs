using System.Globalization;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Repository;
using Microsoft.Extensions.Logging;

namespace InferenceServer.Core.Models;

/// <summary>
/// Owns the loaded models. The set of models is an immutable snapshot read without locks on the
/// request path and replaced whole when it changes, so no request ever sees a half-loaded model.
/// </summary>
public sealed partial class ModelManager(ModelLoader loader, ModelManagerOptions options, ILogger<ModelManager> logger) : IAsyncDisposable
{
    private volatile IReadOnlyDictionary<string, ModelEntry> _models = new Dictionary<string, ModelEntry>();
    private volatile bool _startupComplete;

    /// <summary>The current snapshot of models, by name.</summary>
    public IReadOnlyDictionary<string, ModelEntry> Models => _models;

    /// <summary>True once the startup load has finished (whatever each model's outcome).</summary>
    public bool StartupComplete => _startupComplete;

    /// <summary>
    /// Loads the repository as the control mode says: everything (none, poll) or the
    /// <c>--load-model</c> list (explicit). Models load in parallel; a failing model does not stop the others.
    /// </summary>
    public async Task LoadRepositoryAsync(CancellationToken cancellationToken)
    {
        var directories = ModelRepositoryScanner.Scan(options.ModelRepository);
        if (options.ModelControlMode == ModelControlMode.Explicit)
        {
            var wanted = new HashSet<string>(options.LoadModels, StringComparer.Ordinal);
            foreach (var missing in wanted.Where(w => directories.All(d => d.Name != w)))
            {
                LogMissingModel(missing, options.ModelRepository);
            }
            directories = directories.Where(d => wanted.Contains(d.Name)).ToList();
        }

        // Plan every model first, so the cores can be divided among all the instances at once.
        var plans = directories.Select(loader.Plan).ToList();
        var cpuInstances = plans.Sum(p => p.CpuInstanceCount);
        var threads = CpuThreadBudget.ThreadsPerInstance(Environment.ProcessorCount, cpuInstances);
        LogThreadBudget(Environment.ProcessorCount, cpuInstances, threads);

        var loads = new Task<ModelEntry>[plans.Count];
        using var limiter = new SemaphoreSlim(Math.Max(1, Environment.ProcessorCount));
        for (var i = 0; i < plans.Count; i++)
        {
            loads[i] = LoadLimitedAsync(plans[i], threads, limiter, cancellationToken);
        }
        var entries = await Task.WhenAll(loads).ConfigureAwait(false);

        var models = new Dictionary<string, ModelEntry>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            models[entry.Name] = entry;
        }
        _models = models;
        _startupComplete = true;
    }

    private async Task<ModelEntry> LoadLimitedAsync(ModelLoadPlan plan, int intraOpThreads, SemaphoreSlim limiter, CancellationToken cancellationToken)
    {
        await limiter.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await loader.LoadAsync(plan, intraOpThreads, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            limiter.Release();
        }
    }

    /// <summary>
    /// Finds the version a request addresses: the named one, or the highest READY one.
    /// Throws NotFound for an unknown model or version, Unavailable when it exists but cannot serve.
    /// </summary>
    public ModelVersion Resolve(string modelName, string? version)
    {
        if (!_models.TryGetValue(modelName, out var entry))
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

    /// <summary>Resolves the model and runs the request on it.</summary>
    public Task<InferenceResponse> InferAsync(InferenceRequest request, CancellationToken cancellationToken) =>
        Resolve(request.ModelName, request.ModelVersion).InferAsync(request, cancellationToken);

    /// <summary>Every model and version with its state and reason, as the repository index reports them.</summary>
    public IReadOnlyList<ModelIndexEntry> Index()
    {
        var index = new List<ModelIndexEntry>();
        foreach (var entry in _models.Values.OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            if (entry.Versions.Count == 0)
            {
                index.Add(new ModelIndexEntry(entry.Name, "", ModelState.Unavailable, entry.Reason));
                continue;
            }
            foreach (var version in entry.Versions.Values.OrderBy(v => v.Version))
            {
                index.Add(new ModelIndexEntry(entry.Name, version.VersionText, version.State, version.Reason));
            }
        }
        return index;
    }

    private static string DescribeFailure(ModelEntry entry) =>
        entry.Reason.Length > 0 ? entry.Reason : string.Join("; ", entry.Versions.Values.Select(v => $"version {v.VersionText}: {v.Reason}"));

    /// <summary>Drains every version: accepted requests finish, then instances are released.</summary>
    public async ValueTask DisposeAsync()
    {
        var models = _models;
        _models = new Dictionary<string, ModelEntry>();
        foreach (var entry in models.Values)
        {
            foreach (var version in entry.Versions.Values)
            {
                await version.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "CPU threads: {Cores} core(s) shared by {Instances} CPU instance(s): {Threads} intra-op thread(s) each, unless a model's parameters set intra_op_thread_count")]
    private partial void LogThreadBudget(int cores, int instances, int threads);

    [LoggerMessage(Level = LogLevel.Warning, Message = "--load-model names '{Model}', which is not in the repository '{Repository}'")]
    private partial void LogMissingModel(string model, string repository);
}
