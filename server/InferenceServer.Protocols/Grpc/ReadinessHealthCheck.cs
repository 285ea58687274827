using InferenceServer.Core.Serving;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace InferenceServer.Protocols.Grpc;

/// <summary>
/// The one health check behind <c>grpc.health.v1.Health</c>: healthy exactly when the server is ready, so the health
/// service answers SERVING then and NOT_SERVING while the repository is still loading or the server is stopping.
/// </summary>
internal sealed class ReadinessHealthCheck(InferenceFrontDoor door) : IHealthCheck
{
    public const string Name = "ready";

    private static readonly Task<HealthCheckResult> Healthy = Task.FromResult(HealthCheckResult.Healthy("ready"));
    private static readonly Task<HealthCheckResult> NotReady = Task.FromResult(HealthCheckResult.Unhealthy("the server is loading its models or stopping"));

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        door.IsReady ? Healthy : NotReady;
}
