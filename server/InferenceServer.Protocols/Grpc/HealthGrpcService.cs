using InferenceServer.Grpc;
using InferenceServer.Protocols.Grpc.Health;

namespace InferenceServer.Protocols.Grpc;

/// <summary>
/// <c>grpc.health.v1.Health/Check</c>, for load balancers and Kubernetes gRPC probes: the server (empty service name)
/// and the inference service are SERVING once the server is ready, NOT_SERVING before and while stopping; any other
/// name is NOT_FOUND, as the health protocol says.
/// </summary>
internal sealed class HealthGrpcService(InferenceGrpcService inference)
{
    public const string ServiceName = "grpc.health.v1.Health";

    public void Register(GrpcServiceRegistry registry) =>
        registry.AddUnary(ServiceName, "Check", InferenceGrpcService.Unary(HealthCheckRequest.Parser, (request, _) => Check(request)));

    private HealthCheckResponse Check(HealthCheckRequest request)
    {
        if (request.Service.Length > 0 && request.Service != InferenceGrpcService.ServiceName)
        {
            throw new GrpcStatusException(GrpcStatusCode.NotFound, $"unknown service '{request.Service}'");
        }
        return new HealthCheckResponse
        {
            Status = inference.Ready ? HealthCheckResponse.Types.ServingStatus.Serving : HealthCheckResponse.Types.ServingStatus.NotServing,
        };
    }
}
