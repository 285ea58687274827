using InferenceServer.LoadTest.Cli;

namespace InferenceServer.LoadTest.Targets;

/// <summary>The protocols' names on the command line and in reports.</summary>
internal static class ProtocolNames
{
    public static string Name(this Protocol protocol) => protocol switch
    {
        Protocol.RestJson => "rest-json",
        Protocol.RestBinary => "rest-binary",
        Protocol.RestPredict => "rest-predict",
        _ => "grpc",
    };

    public static Protocol Parse(string text) => text.ToLowerInvariant() switch
    {
        "rest-json" or "json" or "rest" or "http" => Protocol.RestJson,
        "rest-binary" or "binary" => Protocol.RestBinary,
        "grpc" => Protocol.Grpc,
        "rest-predict" or "predict" => Protocol.RestPredict,
        _ => throw new UsageException($"--protocol: '{text}' is not rest-json, rest-binary, rest-predict or grpc"),
    };
}
