namespace InferenceServer.LoadTest.Targets;

/// <summary>The kinds of failure a request can have.</summary>
internal enum ErrorCategory
{
    /// <summary>The server answered with an HTTP status other than 200 (REST).</summary>
    Http,

    /// <summary>The server answered with a gRPC status other than OK.</summary>
    Grpc,

    /// <summary>No answer within the request timeout.</summary>
    Timeout,

    /// <summary>The connection could not be opened, or broke during the request.</summary>
    Connection,

    /// <summary>Anything else (a malformed response, a client-side failure).</summary>
    Other,
}
