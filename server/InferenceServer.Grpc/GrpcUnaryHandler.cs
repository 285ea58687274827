using System.Buffers;

namespace InferenceServer.Grpc;

/// <summary>
/// Handles a unary call: <paramref name="request"/> is the one request message where it lies in the request's
/// buffers (valid until the returned task completes); the handler writes exactly one message to
/// <paramref name="response"/>, ideally with <see cref="GrpcMessageWriter.BeginMessage"/> straight into the response
/// pipe. Throw <see cref="GrpcStatusException"/> to end the call with a status other than OK.
/// </summary>
public delegate ValueTask GrpcUnaryHandler(ReadOnlySequence<byte> request, GrpcMessageWriter response, GrpcCallContext context);
