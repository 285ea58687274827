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
/// Retry-After (gRPC UNAVAILABLE with the retry pushback), and a load that has started goes on so that the retry finds
/// the model. Under a budget, where loads take turns, a load nobody waits for any more is dropped before its turn, and a
/// request that could not load within its deadline behind the loads ahead of it is refused at once. A model whose load
/// failed is not loaded again before a back-off (1 s, doubling with each failure in a row to 30 s): its requests are
/// refused meanwhile with the reason and Retry-After.
/// </summary>
internal sealed partial class OnDemandLoads(ModelRegistry registry, ModelLifecycle lifecycle, ModelResidency residency, ModelLifecycleOptions options,
    TimeProvider time, ILogger<OnDemandLoads> logger)
{
    // How long a client should wait before retrying a request refused while its model loads or could not load yet.
    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(1);

    // A model whose load failed is not tried again before this, doubling with each failure in a row up to the most.
    private static readonly TimeSpan FirstBackOff = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MostBackOff = TimeSpan.FromSeconds(30);

    private readonly bool _enabled = options.ModelControlMode == ModelControlMode.OnDemand;
    private readonly Dictionary<string, ColdLoad> _loads = new(StringComparer.Ordinal);
    // The models whose last loads failed (guarded by _loads' lock): a broken model would otherwise be loaded again for
    // every request, each load costing what a good one does (and, under a budget, its turn and perhaps an eviction).
    private readonly Dictionary<string, FailedLoads> _failed = new(StringComparer.Ordinal);
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
        ColdLoad load;
        try
        {
            load = Join(model);
        }
        catch
        {
            Interlocked.Decrement(ref _waiting);
            throw;
        }
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromMilliseconds(options.ColdStartTimeoutMilliseconds), time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancellationToken);
            try
            {
                await load.Task.WaitAsync(linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                LogColdStartTimeout(model, options.ColdStartTimeoutMilliseconds);
                throw new InferenceException(InferenceErrorKind.Unavailable, string.Create(CultureInfo.InvariantCulture,
                    $"model '{model}' is still loading after {options.ColdStartTimeoutMilliseconds} ms (--cold-start-timeout-ms); try again later"))
                { RetryAfter = RetryAfter };
            }
            catch (OperationCanceledException) when (load.Abandoned && !cancellationToken.IsCancellationRequested)
            {
                // Every request that waited for it left before it could start, so it was dropped; this one came as it went.
                throw new InferenceException(InferenceErrorKind.Unavailable, $"model '{model}' is not loaded yet; try again") { RetryAfter = RetryAfter };
            }
            catch (InferenceException e) when (e.Kind == InferenceErrorKind.Unavailable && e.RetryAfter is null)
            {
                // A load refused for memory may fit once models in the anti-thrash window go idle; a failed one is retried too.
                throw new InferenceException(e.Kind, e.Message, e) { RetryAfter = RetryAfter };
            }
        }
        finally
        {
            Leave(model, load);
            Interlocked.Decrement(ref _waiting);
        }
    }

    // Joins the model's load in progress, or starts one: refused at once when the loads ahead of it would outlast the
    // deadline, so that requests a server cannot load models for fast enough get their 503 now instead of after waiting.
    private ColdLoad Join(string model)
    {
        lock (_loads)
        {
            // A load that has just ended may still be listed (its clean-up runs after its requests hear of it): not joined.
            if (_loads.TryGetValue(model, out var running) && !running.Task.IsCompleted)
            {
                running.Waiters++;
                return running;
            }
            if (_failed.TryGetValue(model, out var failed) && failed.RetryAt > time.GetUtcNow())
            {
                var wait = failed.RetryAt - time.GetUtcNow();
                throw new InferenceException(InferenceErrorKind.Unavailable, string.Create(CultureInfo.InvariantCulture,
                    $"model '{model}' failed to load {failed.Count} time(s) in a row, and is tried again in {wait.TotalMilliseconds:F0} ms (after a failed load on demand the next waits {FirstBackOff.TotalSeconds:F0} s, doubling to {MostBackOff.TotalSeconds:F0} s): {failed.Reason}"))
                { RetryAfter = TimeSpan.FromSeconds(Math.Ceiling(wait.TotalSeconds)) };
            }
            var expected = residency.ExpectedQueueWait;
            if (expected.TotalMilliseconds > options.ColdStartTimeoutMilliseconds)
            {
                throw new InferenceException(InferenceErrorKind.Unavailable, string.Create(CultureInfo.InvariantCulture,
                    $"model '{model}' is not loaded, and the loads ahead of it would take about {expected.TotalMilliseconds:F0} ms, past --cold-start-timeout-ms ({options.ColdStartTimeoutMilliseconds} ms); try again later"))
                { RetryAfter = RetryAfter };
            }
            var load = new ColdLoad { Waiters = 1 };
            residency.ForgetTurn(model);
            load.Task = Task.Run(() => LoadAsync(model, load.Cancellation.Token));
            _loads[model] = load;
            _ = load.Task.ContinueWith(_ =>
            {
                lock (_loads)
                {
                    if (_loads.TryGetValue(model, out var current) && current == load)
                    {
                        _loads.Remove(model);
                    }
                }
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return load;
        }
    }

    // The load, and what it leaves for the next (recorded before its requests hear of it): a success forgets earlier
    // failures; a failure puts off the next load, longer with each failure in a row. Not a load refused for room under
    // the budget (the model is fine, room may come within a second, and the refused request already says when to retry),
    // nor one dropped because nobody waited for it.
    private async Task LoadAsync(string model, CancellationToken cancellationToken)
    {
        try
        {
            await lifecycle.LoadOnDemandAsync(model, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException && !residency.LastLoadRefusedForRoom(model))
        {
            lock (_loads)
            {
                var count = _failed.TryGetValue(model, out var before) ? before.Count + 1 : 1;
                var backOff = TimeSpan.FromTicks(Math.Min(MostBackOff.Ticks, FirstBackOff.Ticks << Math.Min(count - 1, 16)));
                _failed[model] = new FailedLoads(count, time.GetUtcNow() + backOff, e.Message);
                LogBackOff(model, count, (long)backOff.TotalMilliseconds);
            }
            throw;
        }
        lock (_loads)
        {
            _failed.Remove(model);
        }
    }

    // A request stops waiting. When none is left and the load has not yet taken its turn under the budget, it is dropped:
    // a model nobody waits for would only take the turn (and evict a model in use) from loads that requests still wait
    // for. Not only a load at the budget's gate: one still before it (reading its config, waiting for the model's lock or
    // a load slot) has not started either; in a freshly started server that part alone took over a second, and such a
    // load went on to take the turn from loads that were wanted. A load that has started goes on, so that a retry finds
    // the model. The next request starts a new one.
    private void Leave(string model, ColdLoad load)
    {
        lock (_loads)
        {
            if (--load.Waiters > 0 || load.Task.IsCompleted || !residency.Budgets.Any || residency.TookTurn(model))
            {
                return;
            }
            load.Abandoned = true;
            if (_loads.TryGetValue(model, out var current) && current == load)
            {
                _loads.Remove(model);
            }
        }
        LogAbandoned(model);
        load.Cancellation.Cancel();
    }

    // One model's load on demand and the requests waiting for it (guarded by the dictionary's lock).
    private sealed class ColdLoad
    {
        public Task Task { get; set; } = Task.CompletedTask;

        // Never disposed: it has no timer and no links, and a late Cancel must not meet a disposed source.
        public CancellationTokenSource Cancellation { get; } = new();

        public int Waiters { get; set; }

        public bool Abandoned { get; set; }
    }

    // One model's failed loads in a row: how many, when the next may start, and the last one's reason.
    private sealed record FailedLoads(int Count, DateTimeOffset RetryAt, string Reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model '{Model}' failed to load on demand ({Count} time(s) in a row); its requests are refused for the next {Milliseconds} ms before it is tried again")]
    private partial void LogBackOff(string model, int count, long milliseconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Dropped the load of model '{Model}' on demand: every request waiting for it left")]
    private partial void LogAbandoned(string model);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Requests for model '{Model}' waited {Milliseconds} ms for its load (--cold-start-timeout-ms) and were answered 503; the load goes on")]
    private partial void LogColdStartTimeout(string model, int milliseconds);
}
