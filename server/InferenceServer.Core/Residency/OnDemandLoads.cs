using System.Diagnostics;
using System.Globalization;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Lifecycle;
using InferenceServer.Core.Models;
using Microsoft.Extensions.Logging;

namespace InferenceServer.Core.Residency;

/// <summary>
/// On-demand mode's cold starts: a request for a model of the repository that is not loaded starts its load and waits
/// for it, with the requests that arrive meanwhile (one load per model). The wait is bounded twice: at most
/// <see cref="ModelLifecycleOptions.ColdStartQueueSize"/> requests wait at once, each at most
/// <see cref="ModelLifecycleOptions.ColdStartTimeoutMilliseconds"/>; past either the request is answered 503 with
/// Retry-After (gRPC UNAVAILABLE with the retry pushback), and the load goes on so that the retry finds the model.
/// </summary>
internal sealed partial class OnDemandLoads(ModelRegistry registry, ModelLifecycle lifecycle, ModelLifecycleOptions options, TimeProvider time,
    ILogger<OnDemandLoads> logger)
{
    // How long a client should wait before retrying a request refused while its model loads or could not load yet.
    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(1);

    private readonly bool _enabled = options.ModelControlMode == ModelControlMode.OnDemand;
    private readonly Dictionary<string, Task> _loads = new(StringComparer.Ordinal);
    private int _waiting;

    /// <summary>How many requests wait for a model to load now.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>
    /// Completes once <paramref name="model"/> serves: at once (null) when it does already, or when the mode is not
    /// on demand; else after loading it, with how long the request waited. A route (routing.pbtxt) is loaded with the
    /// models of its variants. A name that no repository holds is left to routing, which answers NotFound.
    /// </summary>
    public ValueTask<TimeSpan?> AwaitAsync(string model, CancellationToken cancellationToken)
    {
        if (!_enabled)
        {
            return ValueTask.FromResult<TimeSpan?>(null);
        }
        var snapshot = registry.Snapshot;
        var cold = NeedsLoad(snapshot, model) ? model : null;
        List<string>? variants = null;
        if (snapshot.Routes.TryGetValue(model, out var route))
        {
            foreach (var variant in route.Config.Variant)
            {
                if (variant.Model != model && NeedsLoad(snapshot, variant.Model))
                {
                    (variants ??= []).Add(variant.Model);
                }
            }
        }
        return cold is null && variants is null
            ? ValueTask.FromResult<TimeSpan?>(null)
            : new ValueTask<TimeSpan?>(LoadAllAsync(cold, variants, cancellationToken));
    }

    // True when name is a model of the repositories that does not serve now.
    private bool NeedsLoad(RegistrySnapshot snapshot, string name)
    {
        if (snapshot.Models.TryGetValue(name, out var entry))
        {
            return entry.Unloaded || entry.LatestReady() is null;
        }
        if (snapshot.Routes.ContainsKey(name))
        {
            // A route of its own folder, published: nothing to load under its name.
            return false;
        }
        if (snapshot.Repository.Names.Contains(name))
        {
            return true;
        }
        // A folder added since the repositories were last listed.
        lifecycle.RefreshRepositoryContents();
        return registry.Snapshot.Repository.Names.Contains(name);
    }

    // The name itself first (a route folder's load publishes its route), then the variants its route names.
    private async Task<TimeSpan?> LoadAllAsync(string? model, List<string>? variants, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        if (model is not null)
        {
            await LoadAndWaitAsync(model, cancellationToken).ConfigureAwait(false);
            var snapshot = registry.Snapshot;
            if (variants is null && snapshot.Routes.TryGetValue(model, out var route))
            {
                variants = route.Config.Variant.Select(v => v.Model).Where(v => v != model && NeedsLoad(snapshot, v)).ToList();
            }
        }
        if (variants is { Count: > 0 })
        {
            await Task.WhenAll(variants.Distinct(StringComparer.Ordinal).Select(v => LoadAndWaitAsync(v, cancellationToken))).ConfigureAwait(false);
        }
        return Stopwatch.GetElapsedTime(started);
    }

    private async Task LoadAndWaitAsync(string model, CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _waiting) > options.ColdStartQueueSize)
        {
            Interlocked.Decrement(ref _waiting);
            throw new InferenceException(InferenceErrorKind.Unavailable, string.Create(CultureInfo.InvariantCulture,
                $"model '{model}' is not loaded and {options.ColdStartQueueSize} requests already wait for models to load (--cold-start-queue-size); try again later"))
            { RetryAfter = RetryAfter };
        }
        try
        {
            var load = Start(model);
            using var deadline = new CancellationTokenSource(TimeSpan.FromMilliseconds(options.ColdStartTimeoutMilliseconds), time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancellationToken);
            try
            {
                await load.WaitAsync(linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                LogColdStartTimeout(model, options.ColdStartTimeoutMilliseconds);
                throw new InferenceException(InferenceErrorKind.Unavailable, string.Create(CultureInfo.InvariantCulture,
                    $"model '{model}' is still loading after {options.ColdStartTimeoutMilliseconds} ms (--cold-start-timeout-ms); try again later"))
                { RetryAfter = RetryAfter };
            }
            catch (InferenceException e) when (e.Kind == InferenceErrorKind.Unavailable && e.RetryAfter is null)
            {
                // A load refused for memory may fit once models in the anti-thrash window go idle; a failed one is retried too.
                throw new InferenceException(e.Kind, e.Message, e) { RetryAfter = RetryAfter };
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }

    // The model's load in progress, or a new one. Not cancelled by a waiter that leaves: the next request finds it loaded.
    private Task Start(string model)
    {
        lock (_loads)
        {
            if (_loads.TryGetValue(model, out var running))
            {
                return running;
            }
            var load = Task.Run(() => lifecycle.LoadOnDemandAsync(model, CancellationToken.None));
            _loads[model] = load;
            _ = load.ContinueWith(_ =>
            {
                lock (_loads)
                {
                    _loads.Remove(model);
                }
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return load;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Requests for model '{Model}' waited {Milliseconds} ms for its load (--cold-start-timeout-ms) and were answered 503; the load goes on")]
    private partial void LogColdStartTimeout(string model, int milliseconds);
}
