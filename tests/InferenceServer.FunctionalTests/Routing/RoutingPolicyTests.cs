using System.Net;
using Grpc.Core;
using InferenceServer.Core.Routing;
using InferenceServer.FunctionalTests.Grpc;
using InferenceServer.FunctionalTests.Http;
using InferenceServer.Protocols.Grpc.Messages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using static InferenceServer.FunctionalTests.Lifecycle.Lifecycle;

namespace InferenceServer.FunctionalTests.Routing;

/// <summary>
/// A routing policy registered in place of the default one decides by what REST and gRPC hand the front door, the
/// headers (metadata) and the request's parameters, without any change to the protocols.
/// </summary>
public sealed class RoutingPolicyTests
{
    private const string Header = "x-route-version";
    private const string Parameter = "route_version";

    private static readonly string Config = AddSubConfig + """

        version_policy: { all: {} }
        """;

    // Routes to the version a header or parameter names; the default rule otherwise.
    private sealed class ChosenVersionPolicy : IRoutingPolicy
    {
        public ModelTarget Choose(ModelRoute route, string? version, in RoutingContext context)
        {
            var chosen = context.Headers[Header] ?? (context.Parameters is { } parameters && parameters.TryGetValue(Parameter, out var value) ? value : null);
            return chosen is not null && string.IsNullOrEmpty(version) ? route.NamedVersion(chosen) : new TrafficPolicy().Choose(route, version, context);
        }
    }

    private static Task<RunningServer> StartAsync(TestRepository repository) =>
        RunningServer.StartAsync(repository.Path, services => services.Replace(ServiceDescriptor.Singleton<IRoutingPolicy, ChosenVersionPolicy>()));

    private static async Task<string> RestVersionAsync(HttpClient client, string body, string? header = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/m/infer") { Content = new StringContent(body) };
        if (header is not null)
        {
            request.Headers.Add(Header, header);
        }
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        return json["model_version"]!.GetValue<string>();
    }

    [Fact]
    public async Task Rest_hands_the_policy_its_headers_and_parameters()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", Config, 1, 2);
        await using var server = await StartAsync(repository);

        Assert.Equal("2", await RestVersionAsync(server.Client, AddSubRequest()));
        Assert.Equal("1", await RestVersionAsync(server.Client, AddSubRequest(), header: "1"));
        var withParameter = AddSubRequest().Replace("{\"inputs\"", $"{{\"parameters\": {{\"{Parameter}\": \"1\"}}, \"inputs\"", StringComparison.Ordinal);
        Assert.Equal("1", await RestVersionAsync(server.Client, withParameter));
        // Metadata is routed the same way; a version the policy names that does not exist is the usual 404.
        using var metadata = new HttpRequestMessage(HttpMethod.Get, "/v2/models/m");
        metadata.Headers.Add(Header, "7");
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.SendAsync(metadata)).StatusCode);
    }

    [Fact]
    public async Task Grpc_hands_the_policy_its_metadata_and_parameters()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", Config, 1, 2);
        await using var server = await StartAsync(repository);
        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);

        static ModelInferRequest Request()
        {
            var request = new ModelInferRequest { ModelName = "m" };
            foreach (var name in new[] { "INPUT0", "INPUT1" })
            {
                var input = new ModelInferRequest.Types.InferInputTensor { Name = name, Datatype = "INT32", Shape = { 1, 16 }, Contents = new InferTensorContents() };
                input.Contents.IntContents.AddRange(Enumerable.Repeat(1, 16));
                request.Inputs.Add(input);
            }
            return request;
        }

        Assert.Equal("2", (await client.ModelInferAsync(Request())).ModelVersion);
        Assert.Equal("1", (await client.ModelInferAsync(Request(), new Metadata { { Header, "1" } })).ModelVersion);
        var withParameter = Request();
        withParameter.Parameters[Parameter] = new InferParameter { StringParam = "1" };
        Assert.Equal("1", (await client.ModelInferAsync(withParameter)).ModelVersion);
        var metadata = await client.ModelMetadataAsync(new ModelMetadataRequest { Name = "m" }, new Metadata { { Header, "1" } });
        Assert.Equal(["1", "2"], metadata.Versions);
    }
}
