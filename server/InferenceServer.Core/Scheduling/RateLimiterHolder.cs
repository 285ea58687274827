namespace InferenceServer.Core.Scheduling;

/// <summary>The server's <see cref="RateLimiter"/>, or none when <c>--rate-limit</c> is off: a service container cannot hold a null.</summary>
internal sealed class RateLimiterHolder(RateLimiter? limiter)
{
    public RateLimiter? Limiter { get; } = limiter;
}
