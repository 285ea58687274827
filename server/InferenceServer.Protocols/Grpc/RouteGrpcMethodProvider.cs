using Google.Protobuf;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using InferenceServer.Protocols.Access;
using InferenceServer.Protocols.Grpc.Messages;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace InferenceServer.Protocols.Grpc;

/// <summary>
/// Binds every method of <c>inference_server.routing.RouteService</c> to Grpc.AspNetCore, each an endpoint with its
/// access category (feedback: inference; the reports: statistics; steering a rollout: model-repository), so tokens and
/// restricted-protocol settings apply per method as they do to the inference service. Every method the descriptor
/// declares must be bound here, so reflection never describes a method the server does not serve.
/// </summary>
internal sealed class RouteGrpcMethodProvider(IOptions<GrpcProtocolOptions> options, ILogger<RouteGrpcService> logger)
    : IServiceMethodProvider<RouteGrpcService>
{
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<RouteGrpcService> context)
    {
        var bind = new GrpcMethodBinder<RouteGrpcService>(context, RouteGrpcService.ServiceName, options.Value.MaxSendMessageBytes, logger);
        bind.Unary("RouteFeedback", ApiCategory.Inference, RouteFeedbackRequest.Parser, RouteFeedbackResponse.Parser, static (s, r, _) => s.RouteFeedback(r));
        bind.Unary("RouteExperiment", ApiCategory.Statistics, RouteExperimentRequest.Parser, RouteExperimentResponse.Parser, static (s, r, _) => s.RouteExperiment(r));
        bind.Unary("RouteRollout", ApiCategory.Statistics, RouteRolloutRequest.Parser, RouteRolloutResponse.Parser, static (s, r, _) => s.RouteRollout(r));
        bind.Unary("RouteRolloutAction", ApiCategory.ModelRepository, RouteRolloutActionRequest.Parser, RouteRolloutResponse.Parser, static (s, r, _) => s.RouteRolloutAction(r));
        bind.EnsureAllBound(RouteService.Descriptor);
    }
}
