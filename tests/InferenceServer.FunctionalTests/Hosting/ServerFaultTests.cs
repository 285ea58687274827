using System.Net;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Grpc.Core;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Routing;
using InferenceServer.FunctionalTests.Grpc;
using InferenceServer.FunctionalTests.Http;
using InferenceServer.Protocols.Grpc.Messages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace InferenceServer.FunctionalTests.Hosting;

/// <summary>
/// A fault of the server's own, here a routing policy that throws, is a 500 (REST) or INTERNAL (gRPC) carrying a
/// correlation id, in the message and in the <c>x-request-id</c> header or trailer, instead of the exception's text
/// (which names a server path here); and it is logged once, at Error with the exception, under that id.
/// </summary>
public sealed class ServerFaultTests : IAsyncLifetime
{
    private const string Secret = "/srv/private/models/simple/1/model.onnx";
    private const string FaultHeader = "x-fault";

    private readonly TestRepository _repository = new TestRepository().AddSample("simple");
    private readonly CapturedLog _log = new();
    private RunningServer _server = null!;

    // Fails every request: with an unexpected exception, or with a core error of the server's own (Internal).
    private sealed class FaultyPolicy : IRoutingPolicy
    {
        public ModelTarget Choose(ModelRoute route, string? version, in RoutingContext context) => context.Headers[FaultHeader] == "internal"
            ? throw new InferenceException(InferenceErrorKind.Internal, $"model failed to run: cannot open {Secret}")
            : throw new InvalidOperationException($"a bug near {Secret}");
    }

    public async Task InitializeAsync()
    {
        _server = await RunningServer.StartAsync(_repository.Path, services => services.Replace(ServiceDescriptor.Singleton<IRoutingPolicy, FaultyPolicy>()));
        _server.Host.Services.GetRequiredService<ILoggerFactory>().AddProvider(_log);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _repository.Dispose();
    }

    private static string Expected(string id) => $"internal error, id {id}; the server's log has the details under this id";

    // The one entry at Warning or above since <paramref name="before"/>: at Error, naming the id, with the exception.
    private void AssertLoggedOnce(int before, string id)
    {
        var loud = _log.Entries.Where(e => e.Level >= LogLevel.Warning).Skip(before).ToList();
        var entry = Assert.Single(loud);
        Assert.Equal(LogLevel.Error, entry.Level);
        Assert.Contains($"Internal error {id} serving", entry.Message, StringComparison.Ordinal);
        Assert.Contains(Secret, entry.Exception!.Message, StringComparison.Ordinal);
    }

    private int Loud() => _log.Entries.Count(e => e.Level >= LogLevel.Warning);

    [Theory]
    [InlineData("POST", "/v2/models/simple/infer", "bug")]
    [InlineData("POST", "/v2/models/simple/infer", "internal")]
    [InlineData("GET", "/v2/models/simple", "bug")]
    [InlineData("GET", "/v2/models/simple/ready", "internal")]
    public async Task Rest_answers_500_with_the_id_and_logs_the_fault_once_under_it(string method, string path, string fault)
    {
        var before = Loud();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Headers.Add(FaultHeader, fault);
        if (method == "POST")
        {
            request.Content = new StringContent("""{"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [1, 1], "data": [1]}]}""");
        }

        using var response = await _server.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var id = Assert.Single(response.Headers.GetValues("x-request-id"));
        Assert.False(string.IsNullOrWhiteSpace(id));
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(Expected(id), JsonNode.Parse(text)!["error"]!.GetValue<string>());
        Assert.DoesNotContain("/srv", text, StringComparison.Ordinal);
        AssertLoggedOnce(before, id);
    }

    [Theory]
    [InlineData("bug")]
    [InlineData("internal")]
    public async Task Grpc_answers_internal_with_the_id_in_a_trailer_and_logs_the_fault_once_under_it(string fault)
    {
        using var channel = GrpcChannels.For(_server.Host.GrpcAddress);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var headers = new Metadata { { FaultHeader, fault } };

        foreach (var call in new Func<Task>[]
        {
            () => client.ModelInferAsync(Simple("a"), headers).ResponseAsync,
            () => client.ModelMetadataAsync(new ModelMetadataRequest { Name = "simple" }, headers).ResponseAsync,
        })
        {
            var before = Loud();
            var error = await Assert.ThrowsAsync<RpcException>(call);

            Assert.Equal(StatusCode.Internal, error.StatusCode);
            var id = error.Trailers.GetValue("x-request-id");
            Assert.False(string.IsNullOrWhiteSpace(id));
            Assert.Equal(Expected(id!), error.Status.Detail);
            AssertLoggedOnce(before, id!);
        }
    }

    [Fact]
    public async Task A_stream_answers_the_failed_request_with_the_id_and_goes_on()
    {
        using var channel = GrpcChannels.For(_server.Host.GrpcAddress);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var before = Loud();

        using var call = client.ModelStreamInfer(new Metadata { { FaultHeader, "bug" } });
        await call.RequestStream.WriteAsync(Simple("a"));
        Assert.True(await call.ResponseStream.MoveNext());
        var first = call.ResponseStream.Current;
        await call.RequestStream.WriteAsync(Simple("b"));
        Assert.True(await call.ResponseStream.MoveNext());
        var second = call.ResponseStream.Current;
        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext());

        Assert.Equal("a", first.InferResponse.Id);
        Assert.Equal("b", second.InferResponse.Id);
        Assert.StartsWith("internal error, id ", first.ErrorMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("/srv", first.ErrorMessage, StringComparison.Ordinal);
        var id = first.ErrorMessage["internal error, id ".Length..first.ErrorMessage.IndexOf(';', StringComparison.Ordinal)];
        Assert.Equal(Expected(id), first.ErrorMessage);
        Assert.Equal(Expected(id), second.ErrorMessage);
        // One line per failed request, under the call's id, naming the request.
        var loud = _log.Entries.Where(e => e.Level >= LogLevel.Warning).Skip(before).Select(e => e.Message).Order().ToList();
        Assert.Equal(
            [$"Internal error {id} serving /inference.GRPCInferenceService/ModelStreamInfer request 'a'", $"Internal error {id} serving /inference.GRPCInferenceService/ModelStreamInfer request 'b'"],
            loud);
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
}
