using Grpc.Core;
using InferenceServer.LoadTest.Targets;

namespace InferenceServer.LoadTest.Ceiling;

/// <summary>
/// The trivial endpoint's gRPC side: <c>inference.GRPCInferenceService/ModelInfer</c>, served by Grpc.AspNetCore,
/// answers every request with an empty <c>ModelInferResponse</c> (zero bytes of protobuf) once it has read it.
/// </summary>
internal sealed class TrivialGrpcService
{
    public static readonly Method<UnreadMessage, UnreadMessage> ModelInfer = new(
        MethodType.Unary, "inference.GRPCInferenceService", "ModelInfer", UnreadMessage.Marshaller, UnreadMessage.Marshaller);

    private static readonly Task<UnreadMessage> Empty = Task.FromResult(UnreadMessage.Instance);

    public static Task<UnreadMessage> Answer(TrivialGrpcService service, UnreadMessage request, ServerCallContext context) => Empty;
}
