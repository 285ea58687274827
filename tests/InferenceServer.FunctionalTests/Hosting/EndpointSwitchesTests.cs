using System.Net;
using System.Net.Sockets;
using InferenceServer.FunctionalTests.Http;
using InferenceServer.Hosting;
using static InferenceServer.FunctionalTests.Lifecycle.Lifecycle;

namespace InferenceServer.FunctionalTests.Hosting;

/// <summary>--allow-http, --allow-metrics, --metrics-address and --id on a real server.</summary>
public sealed class EndpointSwitchesTests
{
    [Fact]
    public async Task WithoutHttpOnlyGrpcAndMetricsListen()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, ("Http:Enabled", "false"), ("Http:Port", "0"));

        Assert.False(server.Host.HttpEnabled);
        Assert.Throws<InvalidOperationException>(() => server.Host.BoundHttpAddress);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host.GrpcAddress.Host, server.Host.GrpcAddress.Port);
        Assert.Equal(HttpStatusCode.OK, (await server.MetricsClient.GetAsync("/metrics")).StatusCode);
    }

    [Fact]
    public async Task WithoutMetricsThereIsNoMetricsEndpoint()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, ("Metrics:Enabled", "false"));

        Assert.False(server.Host.MetricsEnabled);
        Assert.Throws<InvalidOperationException>(() => server.Host.BoundMetricsAddress);
        Assert.Equal("1", await InferAddSubAsync(server.Client, "m"));
    }

    [Fact]
    public async Task TheMetricsAddressIsItsOwn()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, ("Http:Address", "0.0.0.0"), ("Metrics:Address", "127.0.0.1"));

        Assert.StartsWith("http://0.0.0.0:", server.Host.BoundHttpAddress);
        Assert.StartsWith("http://127.0.0.1:", server.Host.BoundMetricsAddress);
    }

    [Fact]
    public async Task TheIdIsTheNameServerMetadataReports()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, ("Server:Id", "triton"));

        var (_, body) = await server.Client.GetJsonAsync("/v2");
        Assert.Equal("triton", body!["name"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("Http:Port", "70000", "Http:Port 70000 is not valid; expected 0 to 65535")]
    [InlineData("Metrics:Port", "-1", "Metrics:Port -1 is not valid; expected 0 to 65535")]
    [InlineData("Grpc:ServerKey", "key.pem", "gRPC TLS needs both Grpc:ServerCertificate and Grpc:ServerKey (PEM files)")]
    [InlineData("Server:ModelLoadThreadCount", "0", "Server:ModelLoadThreadCount 0 is not valid; expected 1 or more")]
    [InlineData("Server:ShutdownTimeoutSeconds", "soon", "Server:ShutdownTimeoutSeconds 'soon' is not valid")]
    [InlineData("Http:Address", "example.com", "Http:Address 'example.com' is not an IP address")]
    public void EachSectionIsCheckedBeforeAnythingStarts(string key, string value, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => ServerHost.Create(new Dictionary<string, string?> { [key] = value }, RepositoryPaths.Root));
        Assert.Equal(message, error.Message);
    }
}
