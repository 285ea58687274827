using Grpc.AspNetCore.Server.Model;

namespace InferenceServer.LoadTest.Ceiling;

/// <summary>Binds the trivial endpoint's one gRPC method.</summary>
internal sealed class TrivialGrpcMethodProvider : IServiceMethodProvider<TrivialGrpcService>
{
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<TrivialGrpcService> context) =>
        context.AddUnaryMethod(TrivialGrpcService.ModelInfer, [], TrivialGrpcService.Answer);
}
