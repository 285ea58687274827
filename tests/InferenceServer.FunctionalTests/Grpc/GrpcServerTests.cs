using System.Net;
using System.Net.Http.Headers;
using System.IO.Compression;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Grpc.Net.Compression;
using Grpc.Reflection.V1;
using InferenceServer.Protocols.Grpc.Messages;

namespace InferenceServer.FunctionalTests.Grpc;

/// <summary>
/// The gRPC endpoint of a real server through Grpc.Net.Client: server reflection lists and describes the service, the
/// health service follows readiness, streams carry Triton's <c>triton_final_response</c>, an encoding the server lacks
/// is UNIMPLEMENTED, and the gRPC and REST ports stay apart.
/// </summary>
public sealed class GrpcServerTests(GrpcServerTests.Server fixture) : IClassFixture<GrpcServerTests.Server>
{
    private GRPCInferenceService.GRPCInferenceServiceClient Client => new(fixture.Channel);

    [Fact]
    public async Task Reflection_lists_every_service()
    {
        var reflection = new ServerReflection.ServerReflectionClient(fixture.Channel);
        using var call = reflection.ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext());

        var names = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Contains("inference.GRPCInferenceService", names);
        Assert.Contains("grpc.health.v1.Health", names);
        Assert.Contains("grpc.reflection.v1.ServerReflection", names);
    }

    [Fact]
    public async Task Reflection_describes_every_method_of_the_service_as_the_proto_file_declares_it()
    {
        var reflection = new ServerReflection.ServerReflectionClient(fixture.Channel);
        using var call = reflection.ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { FileContainingSymbol = "inference.GRPCInferenceService" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext());

        var files = call.ResponseStream.Current.FileDescriptorResponse.FileDescriptorProto.Select(FileDescriptorProto.Parser.ParseFrom).ToList();
        Assert.Contains(files, f => f.Name == "model_config.proto");
        var service = files.SelectMany(f => f.Service).Single(s => s.Name == "GRPCInferenceService");
        Assert.Equal(GRPCInferenceService.Descriptor.Methods.Select(m => m.Name).Order(), service.Method.Select(m => m.Name).Order());
        var stream = service.Method.Single(m => m.Name == "ModelStreamInfer");
        Assert.True(stream.ClientStreaming && stream.ServerStreaming);
        Assert.Equal(".inference.ModelInferRequest", service.Method.Single(m => m.Name == "ModelInfer").InputType);
    }

    [Fact]
    public async Task Health_is_serving_for_the_server_and_the_service_and_not_found_for_others()
    {
        var health = new Health.HealthClient(fixture.Channel);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest())).Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest { Service = "inference.GRPCInferenceService" })).Status);
        var unknown = await Assert.ThrowsAsync<RpcException>(() => health.CheckAsync(new HealthCheckRequest { Service = "no.such.Service" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Stream_answers_carry_triton_final_response_and_unary_answers_do_not()
    {
        using var call = Client.ModelStreamInfer();
        await call.RequestStream.WriteAsync(Simple("a"));
        await call.RequestStream.WriteAsync(Simple("b"));
        await call.RequestStream.CompleteAsync();
        var answers = new List<ModelStreamInferResponse>();
        await foreach (var answer in call.ResponseStream.ReadAllAsync())
        {
            answers.Add(answer);
        }

        Assert.Equal(["a", "b"], answers.Select(a => a.InferResponse.Id).Order());
        Assert.All(answers, a =>
        {
            Assert.Empty(a.ErrorMessage);
            Assert.Equal(InferParameter.ParameterChoiceOneofCase.BoolParam, a.InferResponse.Parameters["triton_final_response"].ParameterChoiceCase);
            Assert.True(a.InferResponse.Parameters["triton_final_response"].BoolParam);
        });
        var unary = await Client.ModelInferAsync(Simple("c"));
        Assert.Equal("c", unary.Id);
        Assert.Empty(unary.Parameters);
    }

    [Fact]
    public async Task A_request_compressed_with_an_encoding_the_server_lacks_is_unimplemented_naming_the_ones_it_has()
    {
        using var channel = GrpcChannels.For(fixture.Running.Host.GrpcAddress, o => o.CompressionProviders = [new RenamedGzip("snappy")]);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            client.ModelInferAsync(Simple("x"), new Metadata { { "grpc-internal-encoding-request", "snappy" } }).ResponseAsync);

        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
        Assert.Contains("snappy", error.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("gzip", error.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("deflate", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal("x", (await Client.ModelInferAsync(Simple("x"))).Id);
    }

    [Fact]
    public async Task A_malformed_request_is_invalid_argument_for_our_methods_and_the_health_service()
    {
        // A model_name whose length runs far past the end.
        var garbage = new byte[] { 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f };
        var raw = new Marshaller<byte[]>(static b => b, static b => b);
        foreach (var (service, method) in new[] { ("inference.GRPCInferenceService", "ModelInfer"), ("inference.GRPCInferenceService", "ModelMetadata"), ("grpc.health.v1.Health", "Check") })
        {
            var error = await Assert.ThrowsAsync<RpcException>(() =>
                fixture.Channel.CreateCallInvoker().AsyncUnaryCall(new Method<byte[], byte[]>(MethodType.Unary, service, method, raw, raw), null, default, garbage).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
            Assert.Contains("malformed", error.Status.Detail, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Inputs_and_outputs_in_shared_memory_are_invalid_argument_naming_the_region()
    {
        // As Triton's client sends an input it has put in a registered region: parameters, and no raw contents for it.
        var request = Simple("shm");
        request.RawInputContents.RemoveAt(0);
        request.Inputs[0].Parameters["shared_memory_region"] = new InferParameter { StringParam = "input_data" };
        request.Inputs[0].Parameters["shared_memory_byte_size"] = new InferParameter { Int64Param = 64 };
        var input = await Assert.ThrowsAsync<RpcException>(() => Client.ModelInferAsync(request).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, input.StatusCode);
        Assert.StartsWith("input 'INPUT0' refers to shared-memory region 'input_data', but this server does not support shared memory", input.Status.Detail);

        var output = Simple("shm-out");
        var requested = new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "OUTPUT0" };
        requested.Parameters["shared_memory_region"] = new InferParameter { StringParam = "output_data" };
        requested.Parameters["shared_memory_byte_size"] = new InferParameter { Int64Param = 64 };
        output.Outputs.Add(requested);
        var error = await Assert.ThrowsAsync<RpcException>(() => Client.ModelInferAsync(output).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.StartsWith("output 'OUTPUT0' asks to be written to shared-memory region 'output_data'", error.Status.Detail);
    }

    [Fact]
    public async Task The_rest_port_serves_no_grpc()
    {
        using var http = new HttpClient { BaseAddress = fixture.Running.Host.HttpAddress };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/inference.GRPCInferenceService/ServerLive") { Content = new ByteArrayContent(new byte[5]) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.False(response.Headers.Contains("grpc-status"));
    }

    [Fact]
    public async Task The_grpc_port_serves_nothing_but_grpc()
    {
        using var http = new HttpClient { BaseAddress = fixture.Running.Host.GrpcAddress, DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        foreach (var path in new[] { "/v2/health/ready", "/v2/models/simple", "/metrics", "/" })
        {
            using var response = await http.GetAsync(path);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }
        using var infer = new HttpRequestMessage(HttpMethod.Post, "/v2/models/simple/infer") { Content = new StringContent("{}"), Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var inferResponse = await http.SendAsync(infer);
        Assert.Equal(HttpStatusCode.NotFound, inferResponse.StatusCode);
    }

    private static ModelInferRequest Simple(string id)
    {
        var request = new ModelInferRequest { ModelName = "simple", Id = id };
        foreach (var name in new[] { "INPUT0", "INPUT1" })
        {
            var input = new ModelInferRequest.Types.InferInputTensor { Name = name, Datatype = "INT32" };
            input.Shape.AddRange([1, 16]);
            request.Inputs.Add(input);
            request.RawInputContents.Add(ByteString.CopyFrom(new byte[64]));
        }
        return request;
    }

    /// <summary>gzip under a name the server does not know, so a request can arrive compressed with it.</summary>
    private sealed class RenamedGzip(string name) : ICompressionProvider
    {
        public string EncodingName => name;

        public Stream CreateCompressionStream(Stream stream, CompressionLevel? compressionLevel) =>
            new GZipStream(stream, compressionLevel ?? CompressionLevel.Fastest, leaveOpen: true);

        public Stream CreateDecompressionStream(Stream stream) => new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true);
    }

    /// <summary>A server over simple, with a channel to its gRPC port.</summary>
    public sealed class Server : TestServerFixture
    {
        private protected override void Populate(TestRepository repository) => repository.AddSample("simple");
    }
}
