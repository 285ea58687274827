using Google.Protobuf;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using InferenceServer.Protocols.Access;
using InferenceServer.Protocols.Grpc.Messages;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace InferenceServer.Protocols.Grpc;

/// <summary>
/// Binds every method of <c>inference.GRPCInferenceService</c> to Grpc.AspNetCore, each an endpoint of its own: ModelInfer
/// and ModelStreamInfer with the zero-copy marshallers (<see cref="ModelInferMarshallers"/>), the small methods with
/// the generated messages (<see cref="ProtobufMarshallers"/>). Every method the service's descriptor declares must
/// be bound here, so reflection never describes a method the server does not serve.
/// </summary>
internal sealed class InferenceGrpcMethodProvider(IOptions<GrpcProtocolOptions> options, ILogger<InferenceGrpcService> logger)
    : IServiceMethodProvider<InferenceGrpcService>
{
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<InferenceGrpcService> context)
    {
        var maxSend = options.Value.MaxSendMessageBytes;
        var bound = new List<string>();

        context.AddUnaryMethod(
            Method(MethodType.Unary, "ModelInfer", ModelInferMarshallers.Request, ModelInferMarshallers.Response(maxSend), bound),
            [ApiCategory.Inference],
            static (service, request, call) => service.ModelInfer(request, call));
        context.AddDuplexStreamingMethod(
            Method(MethodType.DuplexStreaming, "ModelStreamInfer", ModelInferMarshallers.StreamRequest, ProtobufMarshallers.Create(ModelStreamInferResponse.Parser, maxSend), bound),
            [ApiCategory.Inference],
            static (service, requests, responses, call) => service.ModelStreamInfer(requests, responses, call));

        Unary(context, "ServerLive", ApiCategory.Health, ServerLiveRequest.Parser, ServerLiveResponse.Parser, static (s, r, _) => s.ServerLive(r), bound);
        Unary(context, "ServerReady", ApiCategory.Health, ServerReadyRequest.Parser, ServerReadyResponse.Parser, static (s, r, _) => s.ServerReady(r), bound);
        Unary(context, "ModelReady", ApiCategory.Health, ModelReadyRequest.Parser, ModelReadyResponse.Parser, static (s, r, c) => s.ModelReady(r, c), bound);
        Unary(context, "ServerMetadata", ApiCategory.Metadata, ServerMetadataRequest.Parser, ServerMetadataResponse.Parser, static (s, r, _) => s.ServerMetadata(r), bound);
        Unary(context, "ModelMetadata", ApiCategory.Metadata, ModelMetadataRequest.Parser, ModelMetadataResponse.Parser, static (s, r, c) => s.ModelMetadata(r, c), bound);
        Unary(context, "ModelConfig", ApiCategory.ModelConfig, ModelConfigRequest.Parser, ModelConfigResponse.Parser, static (s, r, c) => s.ModelConfig(r, c), bound);
        Unary(context, "ModelStatistics", ApiCategory.Statistics, ModelStatisticsRequest.Parser, ModelStatisticsResponse.Parser, static (s, r, _) => s.ModelStatistics(r), bound);
        Unary(context, "RepositoryIndex", ApiCategory.ModelRepository, RepositoryIndexRequest.Parser, RepositoryIndexResponse.Parser, static (s, r, _) => s.RepositoryIndex(r), bound);
        UnaryAsync(context, "RepositoryModelLoad", ApiCategory.ModelRepository, RepositoryModelLoadRequest.Parser, RepositoryModelLoadResponse.Parser, static (s, r, c) => s.RepositoryModelLoad(r, c), bound);
        UnaryAsync(context, "RepositoryModelUnload", ApiCategory.ModelRepository, RepositoryModelUnloadRequest.Parser, RepositoryModelUnloadResponse.Parser, static (s, r, c) => s.RepositoryModelUnload(r, c), bound);

        foreach (var declared in GRPCInferenceService.Descriptor.Methods)
        {
            if (!bound.Contains(declared.Name))
            {
                throw new InvalidOperationException($"{InferenceGrpcService.ServiceName}/{declared.Name} is declared by the .proto file but not served");
            }
        }
    }

    private void Unary<TRequest, TResponse>(
        ServiceMethodProviderContext<InferenceGrpcService> context,
        string name,
        ApiCategory category,
        MessageParser<TRequest> request,
        MessageParser<TResponse> response,
        Func<InferenceGrpcService, TRequest, ServerCallContext, TResponse> handle,
        List<string> bound)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        var maxSend = options.Value.MaxSendMessageBytes;
        var method = Method(MethodType.Unary, name, ProtobufMarshallers.Create(request, maxSend), ProtobufMarshallers.Create(response, maxSend), bound);
        context.AddUnaryMethod(method, [category], (service, message, call) =>
        {
            try
            {
                return Task.FromResult(handle(service, message, call));
            }
            catch (Exception e)
            {
                return Task.FromException<TResponse>(GrpcErrors.Translate(e, call, logger));
            }
        });
    }

    private void UnaryAsync<TRequest, TResponse>(
        ServiceMethodProviderContext<InferenceGrpcService> context,
        string name,
        ApiCategory category,
        MessageParser<TRequest> request,
        MessageParser<TResponse> response,
        Func<InferenceGrpcService, TRequest, ServerCallContext, Task<TResponse>> handle,
        List<string> bound)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        var maxSend = options.Value.MaxSendMessageBytes;
        var method = Method(MethodType.Unary, name, ProtobufMarshallers.Create(request, maxSend), ProtobufMarshallers.Create(response, maxSend), bound);
        context.AddUnaryMethod(method, [category], async (service, message, call) =>
        {
            try
            {
                return await handle(service, message, call).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                throw GrpcErrors.Translate(e, call, logger);
            }
        });
    }

    private static Method<TRequest, TResponse> Method<TRequest, TResponse>(MethodType type, string name, Marshaller<TRequest> request, Marshaller<TResponse> response, List<string> bound)
    {
        bound.Add(name);
        return new Method<TRequest, TResponse>(type, InferenceGrpcService.ServiceName, name, request, response);
    }
}
