using System.Net;
using Grpc.Core;
using InferenceServer.Protocols.Grpc.Messages;
using static InferenceServer.FunctionalTests.Lifecycle.Lifecycle;
using static InferenceServer.FunctionalTests.Repository.RepositoryApi;

namespace InferenceServer.FunctionalTests.Repository;

/// <summary>
/// A load whose own config (the load's <c>config</c> parameter) asks for something the backend or the model refuses is
/// the client's error: 400 / INVALID_ARGUMENT naming what was refused, over REST and gRPC (issue 12: these were 503, as
/// if the server could not serve). The same refusal of the repository's own config.pbtxt stays 503: the client asked
/// for nothing wrong. Nothing that served is replaced.
/// </summary>
public sealed class LoadConfigRefusalTests
{
    // Each: the fields added to add_sub's config, and what the error must name.
    public static TheoryData<string, string> Refused => new()
    {
        // Backend parameters the onnxruntime backend checks before it makes a session.
        { """, "parameters": {"intra_op_thread_count": {"string_value": "many"}}""", "'intra_op_thread_count' has value 'many'" },
        { """, "parameters": {"inter_op_thread_count": {"string_value": "99999999"}}""", "'inter_op_thread_count' has value '99999999'" },
        { """, "parameters": {"execution_mode": {"string_value": "7"}}""", "'execution_mode' has value '7'" },
        { """, "parameters": {"enable_mem_arena": {"string_value": "maybe"}}""", "'enable_mem_arena' has value 'maybe'" },
        // Accelerators this build does not have are refused by name, not ignored.
        { """, "optimization": {"execution_accelerators": {"cpu_execution_accelerator": [{"name": "openvino"}]}}""", "cpu_execution_accelerator[0] names 'openvino'" },
        { """, "optimization": {"execution_accelerators": {"gpu_execution_accelerator": [{"name": "tensorrt"}, {"name": "tensor_rt"}]}}""", "gpu_execution_accelerator[1] names 'tensor_rt'" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task ABackendParameterTheBackendRefusesIs400OverRest(string extra, string named)
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, Explicit);
        Assert.Equal((HttpStatusCode.OK, ""), await RepositoryAsync(server.Client, "/v2/repository/models/m/load"));

        var (status, error) = await RepositoryAsync(server.Client, "/v2/repository/models/m/load", LoadBody(AddSubJson(extra), []));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(named, error, StringComparison.Ordinal);
        Assert.StartsWith("failed to load 'm': ", error, StringComparison.Ordinal);
        // What served keeps serving.
        Assert.Equal("1", await InferAddSubAsync(server.Client, "m"));
    }

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task ABackendParameterTheBackendRefusesIsInvalidArgumentOverGrpc(string extra, string named)
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, Explicit);
        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);

        var request = new RepositoryModelLoadRequest { ModelName = "m" };
        request.Parameters["config"] = new ModelRepositoryParameter { StringParam = AddSubJson(extra) };
        var e = await Assert.ThrowsAsync<RpcException>(async () => await client.RepositoryModelLoadAsync(request));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains(named, e.Status.Detail, StringComparison.Ordinal);
        Assert.NotEqual(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/models/m/ready")).StatusCode);
    }

    [Fact]
    public async Task AConfigThatDoesNotFitTheModelIs400()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, Explicit);

        var config = AddSubJson().Replace("\"INPUT1\"", "\"INPUT9\"", StringComparison.Ordinal);
        var (status, error) = await RepositoryAsync(server.Client, "/v2/repository/models/m/load", LoadBody(config, []));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("INPUT9", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheSameRefusalOfTheRepositorysOwnConfigStays503()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx",
            AddSubConfig + "\nparameters { key: \"intra_op_thread_count\" value: { string_value: \"many\" } }\n");
        await using var server = await RunningServer.StartAsync(repository.Path, Explicit);

        var (status, error) = await RepositoryAsync(server.Client, "/v2/repository/models/m/load");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("'intra_op_thread_count' has value 'many'", error, StringComparison.Ordinal);
    }
}
