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
        var bound = new List<string>();
        Unary(context, "RouteFeedback", ApiCategory.Inference, RouteFeedbackRequest.Parser, RouteFeedbackResponse.Parser, static (s, r) => s.RouteFeedback(r), bound);
        Unary(context, "RouteExperiment", ApiCategory.Statistics, RouteExperimentRequest.Parser, RouteExperimentResponse.Parser, static (s, r) => s.RouteExperiment(r), bound);
        Unary(context, "RouteRollout", ApiCategory.Statistics, RouteRolloutRequest.Parser, RouteRolloutResponse.Parser, static (s, r) => s.RouteRollout(r), bound);
        Unary(context, "RouteRolloutAction", ApiCategory.ModelRepository, RouteRolloutActionRequest.Parser, RouteRolloutResponse.Parser, static (s, r) => s.RouteRolloutAction(r), bound);

        foreach (var declared in RouteService.Descriptor.Methods)
        {
            if (!bound.Contains(declared.Name))
            {
                throw new InvalidOperationException($"{RouteGrpcService.ServiceName}/{declared.Name} is declared by the .proto file but not served");
            }
        }
    }

    private void Unary<TRequest, TResponse>(
        ServiceMethodProviderContext<RouteGrpcService> context,
        string name,
        ApiCategory category,
        MessageParser<TRequest> request,
        MessageParser<TResponse> response,
        Func<RouteGrpcService, TRequest, TResponse> handle,
        List<string> bound)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        var maxSend = options.Value.MaxSendMessageBytes;
        bound.Add(name);
        var method = new Method<TRequest, TResponse>(MethodType.Unary, RouteGrpcService.ServiceName, name,
            ProtobufMarshallers.Create(request, maxSend), ProtobufMarshallers.Create(response, maxSend));
        context.AddUnaryMethod(method, [category], (service, message, call) =>
        {
            try
            {
                return Task.FromResult(handle(service, message));
            }
            catch (Exception e)
            {
                return Task.FromException<TResponse>(GrpcErrors.Translate(e, call, logger));
            }
        });
    }
}
