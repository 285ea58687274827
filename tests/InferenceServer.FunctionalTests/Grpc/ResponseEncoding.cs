using Grpc.Net.Compression;
using InferenceServer.Protocols.Grpc.Messages;

namespace InferenceServer.FunctionalTests.Grpc;

/// <summary>Which encoding a compressing server answers a .NET client with, by what the client accepts.</summary>
internal static class ResponseEncoding
{
    /// <summary>
    /// Calls ServerMetadata and ModelInfer with a client that accepts <paramref name="accepted"/> (besides identity)
    /// and checks each answer came with <c>grpc-encoding</c> <paramref name="expected"/> (null: uncompressed) and decoded.
    /// </summary>
    public static async Task AssertAsync(RunningServer server, IList<ICompressionProvider> accepted, string? expected)
    {
        var recorder = new ResponseHeaderRecorder("grpc-encoding");
        using var channel = GrpcChannels.For(server.Host.GrpcAddress, o =>
        {
            o.HttpHandler = recorder;
            o.CompressionProviders = accepted;
        });
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);

        var metadata = await client.ServerMetadataAsync(new ServerMetadataRequest());
        var request = new ModelInferRequest { ModelName = "simple" };
        foreach (var name in new[] { "INPUT0", "INPUT1" })
        {
            var input = new ModelInferRequest.Types.InferInputTensor { Name = name, Datatype = "INT32" };
            input.Shape.AddRange([1, 16]);
            request.Inputs.Add(input);
            request.RawInputContents.Add(Google.Protobuf.ByteString.CopyFrom(new byte[64]));
        }
        var response = await client.ModelInferAsync(request);

        Assert.False(string.IsNullOrEmpty(metadata.Name));
        Assert.Equal(["OUTPUT0", "OUTPUT1"], response.Outputs.Select(o => o.Name));
        Assert.Equal(new byte[64], response.RawOutputContents[0].ToByteArray());
        Assert.Equal([expected, expected], recorder.Values);
    }
}
