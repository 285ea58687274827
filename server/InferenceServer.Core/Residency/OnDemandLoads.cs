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
    /// on demand; else after loading it, with how long the request waited. A name that is a route, or that no repository
    /// holds, is left to routing (which answers NotFound for the latter).
    /// </summary>
    public ValueTask<TimeSpan?> AwaitAsync(string model, CancellationToken cancellationToken)
    {
        if (!_enabled)
        {
            return ValueTask.FromResult<TimeSpan?>(null);
        }
        var snapshot = registry.Snapshot;
        if (snapshot.Models.TryGetValue(model, out var entry) ? !entry.Unloaded && entry.LatestReady() is not null : snapshot.Routes.ContainsKey(model))
        {
            return ValueTask.FromResult<TimeSpan?>(null);
        }
        if (!snapshot.Repository.Names.Contains(model) && !snapshot.Models.ContainsKey(model))
        {
            lifecycle.RefreshRepositoryContents();
            if (!registry.Snapshot.Repository.Names.Contains(model))
            {
                return ValueTask.FromResult<TimeSpan?>(null);
            }
        }
        return new ValueTask<TimeSpan?>(LoadAndWaitAsync(model, cancellationToken));
    }

    private async Task<TimeSpan?> LoadAndWaitAsync(string model, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
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
            return Stopwatch.GetElapsedTime(started);
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
