using InferenceServer.Core.Features.Sidecar;
using InferenceServer.FeatureSidecar.Stores;
using Prometheus;

namespace InferenceServer.FeatureSidecar.Serving;

/// <summary>
/// The sidecar's Prometheus metrics: lookups by view and outcome, store latency, breaker state, connections, failed
/// connection attempts to Redis and reloads of the embedded store.
/// </summary>
internal sealed class SidecarMetrics
{
    private static readonly string[] StatusNames = ["ok", "deadline_exceeded", "store_unavailable", "bad_request", "overloaded"];

    private readonly Counter _lookups;
    private readonly Counter _keys;
    private readonly Histogram _storeSeconds;
    private readonly Gauge _breaker;
    private readonly Gauge _connections;
    private readonly Counter _protocolErrors;
    private readonly Counter _connectFailures;
    private readonly Counter _reloads;

    public SidecarMetrics(CollectorRegistry registry)
    {
        var factory = Metrics.WithCustomRegistry(registry);
        _lookups = factory.CreateCounter("feature_sidecar_lookups_total", "Lookups answered, by feature view and status.", "view", "status");
        _keys = factory.CreateCounter("feature_sidecar_lookup_keys_total", "Entity keys looked up, by feature view.", "view");
        _storeSeconds = factory.CreateHistogram("feature_sidecar_store_read_seconds", "Time the online store took to answer one lookup's reads.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.00005, 2, 16) });
        _breaker = factory.CreateGauge("feature_sidecar_store_breaker_state", "The circuit breaker around the online store: 0 closed, 1 open, 2 half-open.");
        _connections = factory.CreateGauge("feature_sidecar_connections", "Open client connections.");
        _protocolErrors = factory.CreateCounter("feature_sidecar_protocol_errors_total", "Frames refused because they do not follow the wire format.");
        _connectFailures = factory.CreateCounter("feature_sidecar_store_connect_failures_total",
            "Failed connection attempts to Redis, by reason: unreachable, auth (user or password refused), tls.", "reason");
        _reloads = factory.CreateCounter("feature_sidecar_store_reloads_total", "Reloads of the embedded store's file after it changed, by result: ok, failed.", "result");
    }

    public void Answered(string view, SidecarStatus status, int keys)
    {
        _lookups.WithLabels(view, StatusNames[(int)status]).Inc();
        if (status == SidecarStatus.Ok)
        {
            _keys.WithLabels(view).Inc(keys);
        }
    }

    public void StoreRead(TimeSpan elapsed) => _storeSeconds.Observe(elapsed.TotalSeconds);

    public void BreakerState(int state) => _breaker.Set(state);

    public void ConnectionOpened() => _connections.Inc();

    public void ConnectionClosed() => _connections.Dec();

    public void ProtocolError() => _protocolErrors.Inc();

    public void ConnectFailed(StoreFailure failure) => _connectFailures.WithLabels(failure switch
    {
        StoreFailure.Credentials => "auth",
        StoreFailure.Tls => "tls",
        _ => "unreachable",
    }).Inc();

    public void Reloaded(bool ok) => _reloads.WithLabels(ok ? "ok" : "failed").Inc();
}
