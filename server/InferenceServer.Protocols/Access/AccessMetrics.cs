using Prometheus;

namespace InferenceServer.Protocols.Access;

/// <summary>
/// <c>inference_server_refused_requests_total{category, reason}</c>: every request refused for want of a credential or a
/// scope, for its rate, or for its client certificate, by scope (<c>category</c>; <c>connection</c> for a TLS handshake)
/// and why. A spike of <c>invalid_credential</c> is someone guessing.
/// </summary>
public sealed class AccessMetrics
{
    /// <summary>No credential was presented to a scope that needs one (401 / UNAUTHENTICATED).</summary>
    public const string MissingCredential = "missing_credential";

    /// <summary>A token was presented that no configured token matches, or a malformed Authorization header (401 / UNAUTHENTICATED).</summary>
    public const string InvalidCredential = "invalid_credential";

    /// <summary>A known credential without the scope (403 / PERMISSION_DENIED).</summary>
    public const string InsufficientScope = "insufficient_scope";

    /// <summary>No configured credential could call the scope (403 / PERMISSION_DENIED), e.g. the repository API off loopback.</summary>
    public const string Closed = "closed";

    /// <summary>Over the client's rate limit (429 / RESOURCE_EXHAUSTED).</summary>
    public const string RateLimited = "rate_limited";

    /// <summary>A client certificate the client CA did not issue (the TLS handshake fails).</summary>
    public const string UntrustedCertificate = "untrusted_certificate";

    private readonly Counter _refused;

    /// <summary>Creates the counter in the server's <paramref name="registry"/>.</summary>
    public AccessMetrics(CollectorRegistry registry) =>
        _refused = Prometheus.Metrics.WithCustomRegistry(registry).CreateCounter("inference_server_refused_requests_total",
            "Requests refused by authentication, authorization, rate limiting or client certificate checks",
            new CounterConfiguration { LabelNames = ["category", "reason"], SuppressInitialValue = true });

    /// <summary>Counts one refusal.</summary>
    public void Refused(string category, string reason) => _refused.WithLabels(category, reason).Inc();
}
