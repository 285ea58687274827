using Google.Protobuf;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using InferenceServer.Core.Serving;
using InferenceServer.Protocols.Access;
using InferenceServer.Protocols.Grpc.Messages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace InferenceServer.Protocols.Grpc;

/// <summary>
/// Binds every method of <c>inference.GRPCInferenceService</c> to Grpc.AspNetCore, each an endpoint of its own: ModelInfer
/// and ModelStreamInfer with the zero-copy marshallers (<see cref="ModelInferMarshallers"/>), the small methods with
/// the generated messages (<see cref="ProtobufMarshallers"/>). Every method the service's descriptor declares must
/// be bound here, so reflection never describes a method the server does not serve.
/// </summary>
internal sealed class InferenceGrpcMethodProvider(IOptions<GrpcProtocolOptions> options, IServiceProvider services, ILogger<InferenceGrpcService> logger)
    : IServiceMethodProvider<InferenceGrpcService>
{
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<InferenceGrpcService> context)
    {
        var maxSend = options.Value.MaxSendMessageBytes;
        var bind = new GrpcMethodBinder<InferenceGrpcService>(context, InferenceGrpcService.ServiceName, maxSend, logger);

        context.AddUnaryMethod(
            bind.Method(MethodType.Unary, "ModelInfer", ModelInferMarshallers.Request, ModelInferMarshallers.Response(maxSend)),
            [ApiCategory.Inference],
            static (service, request, call) => service.ModelInfer(request, call));
        context.AddDuplexStreamingMethod(
            bind.Method(MethodType.DuplexStreaming, "ModelStreamInfer", ModelInferMarshallers.StreamRequest, ProtobufMarshallers.Create(ModelStreamInferResponse.Parser, maxSend)),
            [ApiCategory.Inference],
            static (service, requests, responses, call) => service.ModelStreamInfer(requests, responses, call));

        bind.Unary("ServerLive", ApiCategory.Health, ServerLiveRequest.Parser, ServerLiveResponse.Parser, static (s, r, _) => s.ServerLive(r));
        bind.Unary("ServerReady", ApiCategory.Health, ServerReadyRequest.Parser, ServerReadyResponse.Parser, static (s, r, _) => s.ServerReady(r));
        bind.Unary("ModelReady", ApiCategory.Health, ModelReadyRequest.Parser, ModelReadyResponse.Parser, static (s, r, c) => s.ModelReady(r, c));
        bind.Unary("ServerMetadata", ApiCategory.Metadata, ServerMetadataRequest.Parser, ServerMetadataResponse.Parser, static (s, r, _) => s.ServerMetadata(r));
        bind.Unary("ModelMetadata", ApiCategory.Metadata, ModelMetadataRequest.Parser, ModelMetadataResponse.Parser, static (s, r, c) => s.ModelMetadata(r, c));
        bind.Unary("ModelConfig", ApiCategory.ModelConfig, ModelConfigRequest.Parser, ModelConfigResponse.Parser, static (s, r, c) => s.ModelConfig(r, c));
        bind.Unary("ModelStatistics", ApiCategory.Statistics, ModelStatisticsRequest.Parser, ModelStatisticsResponse.Parser, static (s, r, _) => s.ModelStatistics(r));
        bind.Unary("RepositoryIndex", ApiCategory.ModelRepository, RepositoryIndexRequest.Parser, RepositoryIndexResponse.Parser, static (s, r, _) => s.RepositoryIndex(r));
        // Uploaded files go from the call's buffers to disk as the request is read (ModelLoadMarshaller).
        bind.UnaryAsync("RepositoryModelLoad", ApiCategory.ModelRepository, ModelLoadMarshaller.Create(services.GetRequiredService<InferenceFrontDoor>, maxSend),
            RepositoryModelLoadResponse.Parser, static (s, r, c) => s.RepositoryModelLoad(r, c));
        bind.UnaryAsync("RepositoryModelUnload", ApiCategory.ModelRepository, RepositoryModelUnloadRequest.Parser, RepositoryModelUnloadResponse.Parser, static (s, r, c) => s.RepositoryModelUnload(r, c));

        bind.EnsureAllBound(GRPCInferenceService.Descriptor);
    }
}
