namespace InferenceServer.LoadTest.Targets;

/// <summary>The wire format a run uses.</summary>
internal enum Protocol
{
    /// <summary>KServe v2 REST with JSON tensors.</summary>
    RestJson,

    /// <summary>KServe v2 REST with the binary tensor extension.</summary>
    RestBinary,

    /// <summary>KServe v2 gRPC (<c>ModelInfer</c> with <c>raw_input_contents</c>).</summary>
    Grpc,

    /// <summary>The predict endpoint (<c>/v2/models/{m}/predict</c>): each input file line is a predict body (a record or an entity, or lists of them).</summary>
    RestPredict,
}
