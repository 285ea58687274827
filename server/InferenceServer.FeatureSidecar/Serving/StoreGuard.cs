using InferenceServer.Core.Features.Sidecar;
using InferenceServer.FeatureSidecar.Stores;
using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace InferenceServer.FeatureSidecar.Serving;

/// <summary>
/// Every store read goes through a Polly pipeline: a circuit breaker around a timeout. The timeout is the lookup's own
/// deadline; failures and timeouts count towards the breaker, and once it opens a read is refused at once (status 2)
/// instead of waiting out a deadline against a store that is down, until a trial read finds it back.
/// </summary>
internal sealed class StoreGuard
{
    // Lookups carry deadlines of milliseconds; a client asking for more than this gets this.
    private static readonly TimeSpan MaxTimeout = TimeSpan.FromSeconds(60);
    private static readonly ResiliencePropertyKey<TimeSpan> TimeoutKey = new("feature-sidecar.lookup-timeout");

    private readonly IOnlineStore _store;
    private readonly SidecarMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ResiliencePipeline _pipeline;

    public StoreGuard(IOnlineStore store, SidecarMetrics metrics, TimeProvider time, TimeSpan breakDuration)
    {
        _store = store;
        _metrics = metrics;
        _time = time;
        _pipeline = new ResiliencePipelineBuilder { TimeProvider = time }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                // Half the reads of the last two seconds failing (at least 4 of them) opens the breaker.
                FailureRatio = 0.5,
                MinimumThroughput = 4,
                SamplingDuration = TimeSpan.FromSeconds(2),
                BreakDuration = breakDuration,
                ShouldHandle = new PredicateBuilder().Handle<Exception>(e => e is not OperationCanceledException),
                OnOpened = _ =>
                {
                    metrics.BreakerState(1);
                    return default;
                },
                OnHalfOpened = _ =>
                {
                    metrics.BreakerState(2);
                    return default;
                },
                OnClosed = _ =>
                {
                    metrics.BreakerState(0);
                    return default;
                },
            })
            .AddTimeout(new TimeoutStrategyOptions
            {
                TimeoutGenerator = static args => new ValueTask<TimeSpan>(args.Context.Properties.GetValue(TimeoutKey, MaxTimeout)),
            })
            .Build();
    }

    public StoreAddress Address => _store.Address;

    /// <summary>Reads a lookup's rows within its deadline; never throws (every failure is an outcome with a message).</summary>
    public async Task<LookupOutcome> ReadAsync(SidecarLookup lookup)
    {
        var timeout = TimeSpan.FromMilliseconds(Math.Min(lookup.TimeoutMilliseconds, MaxTimeout.TotalMilliseconds));
        var context = ResilienceContextPool.Shared.Get();
        context.Properties.Set(TimeoutKey, timeout);
        var started = _time.GetTimestamp();
        try
        {
            var rows = await _pipeline.ExecuteAsync(
                static (attempt, state) => new ValueTask<StoreRows>(state.Store.ReadAsync(state.Lookup.Keys, state.Lookup.Fields, attempt.CancellationToken)),
                context, (Store: _store, Lookup: lookup)).ConfigureAwait(false);
            _metrics.StoreRead(_time.GetElapsedTime(started));
            return new LookupOutcome(SidecarStatus.Ok, "", rows);
        }
        catch (BrokenCircuitException)
        {
            return new LookupOutcome(SidecarStatus.StoreUnavailable,
                $"the online store at {_store.Address} is unavailable: reads are refused for now after recent failures", null);
        }
        catch (TimeoutRejectedException)
        {
            return new LookupOutcome(SidecarStatus.DeadlineExceeded,
                $"the online store at {_store.Address} did not answer within the lookup's {lookup.TimeoutMilliseconds} ms", null);
        }
        catch (Exception e)
        {
            return new LookupOutcome(SidecarStatus.StoreUnavailable, $"the online store at {_store.Address} failed the read: {_store.Address.Scrub(e.Message)}", null);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }
}
