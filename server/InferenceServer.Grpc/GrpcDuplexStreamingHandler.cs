namespace InferenceServer.Grpc;

/// <summary>
/// Handles a bidirectional streaming call: read <paramref name="requests"/> as they arrive and write to
/// <paramref name="responses"/> (flushing each batch) as they are ready, from separate tasks if wanted; the call
/// ends with OK when the returned task completes. Throw <see cref="GrpcStatusException"/> to end it otherwise.
/// </summary>
public delegate ValueTask GrpcDuplexStreamingHandler(GrpcMessageReader requests, GrpcMessageWriter responses, GrpcCallContext context);
