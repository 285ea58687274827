using System.Net;
using Grpc.Core;
using InferenceServer.Core.Models;
using InferenceServer.Core.Routing;
using InferenceServer.Hosting;
using InferenceServer.Protocols.Grpc.Messages;
using Microsoft.Extensions.DependencyInjection;
using static InferenceServer.FunctionalTests.Lifecycle.Lifecycle;

namespace InferenceServer.FunctionalTests.Lifecycle;

/// <summary>
/// routing.pbtxt against a real server: read at startup in every control mode, followed in poll mode, loaded and unloaded
/// through the repository API over REST and gRPC, refused with the reader's message while the published route serves on,
/// and listed by the repository index over both protocols.
/// </summary>
public sealed class RouteLifecycleTests
{
    private static readonly (string, string) KeepRunning = ("Server:ExitOnError", "false");

    // add_sub's versions 1 and 2 serving at once, so a route can split them.
    private static readonly string BothVersions = AddSubConfig + "\nversion_policy: { all: {} }\n";

    private const string Canary = """
        variant { name: "stable" version: 1 weight: 90 }
        variant { name: "canary" version: 2 weight: 10 }
        """;

    private const string AB = """
        variant { name: "a" model: "m" weight: 50 }
        variant { name: "b" model: "n" weight: 50 }
        """;

    private static TestRepository Repository() =>
        new TestRepository().AddFixture("m", "add_sub.onnx", BothVersions, 1, 2).AddFixture("n", "add_sub.onnx", AddSubConfig);

    private static void WriteRoute(TestRepository repository, string name, string routing)
    {
        Directory.CreateDirectory(Path.Combine(repository.Path, name));
        File.WriteAllText(Path.Combine(repository.Path, name, RouteDeclaration.FileName), routing);
    }

    private static IReadOnlyDictionary<string, RouteDeclaration> Routes(RunningServer server) =>
        server.Host.Services.GetRequiredService<ModelRegistry>().Snapshot.Routes;

    private static IReadOnlyDictionary<string, ModelEntry> Models(RunningServer server) =>
        server.Host.Services.GetRequiredService<ModelRegistry>().Snapshot.Models;

    // The gRPC index as "model/version" (or "model/-") → (state, reason), as Lifecycle.IndexAsync reads REST's.
    private static async Task<Dictionary<string, (string State, string Reason)>> GrpcIndexAsync(GRPCInferenceService.GRPCInferenceServiceClient client) =>
        (await client.RepositoryIndexAsync(new RepositoryIndexRequest())).Models.ToDictionary(
            r => $"{r.Name}/{(r.Version.Length > 0 ? r.Version : "-")}", r => (r.State, r.Reason));

    [Theory]
    [InlineData("none")]
    [InlineData("poll")]
    [InlineData("explicit")]
    public async Task EveryRouteIsPublishedAtStartupAndListedByTheIndexOverRestAndGrpc(string mode)
    {
        using var repository = Repository();
        WriteRoute(repository, "m", Canary);
        WriteRoute(repository, "ab", AB);
        await using var server = await RunningServer.StartAsync(repository.Path, ("Server:ModelControlMode", mode), ("Server:LoadModels:0", "*"));

        Assert.True(Routes(server)["m"].BesideModel);
        Assert.Equal(["stable", "canary"], Routes(server)["m"].Config.Variant.Select(v => v.Name));
        Assert.False(Routes(server)["ab"].BesideModel);
        // A folder holding only a route is not a model that failed to load: the server is ready.
        Assert.False(Models(server).ContainsKey("ab"));
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/health/ready")).StatusCode);

        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        var grpc = await GrpcIndexAsync(new GRPCInferenceService.GRPCInferenceServiceClient(channel));
        foreach (var index in new[] { await IndexAsync(server.Client), grpc })
        {
            Assert.Equal(("READY", ""), index["ab/-"]);
            Assert.Equal("READY", index["m/1"].State);
            Assert.Equal("READY", index["m/2"].State);
            Assert.False(index.ContainsKey("m/-"));
        }
    }

    [Fact]
    public async Task ABadRouteIsAStartupFailureNamingWhereItIsWrongAndNeverAFailedModel()
    {
        using var repository = Repository();
        WriteRoute(repository, "bad", """variant { name: "a" weight: 1 }""");
        const string Reason = "bad/routing.pbtxt:1:1: variant[0].model: required: the route is not declared beside a model's config.pbtxt, so each variant names its model";

        var error = await Assert.ThrowsAsync<ServerStartException>(() => RunningServer.StartAsync(repository.Path));
        Assert.Contains($"'bad': {Reason}", error.Message);

        await using var server = await RunningServer.StartAsync(repository.Path, KeepRunning);
        Assert.Empty(Routes(server));
        Assert.False(Models(server).ContainsKey("bad"));
        Assert.Equal(("UNAVAILABLE", Reason), (await IndexAsync(server.Client))["bad/-"]);
        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        Assert.Equal(("UNAVAILABLE", Reason), (await GrpcIndexAsync(new GRPCInferenceService.GRPCInferenceServiceClient(channel)))["bad/-"]);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await server.Client.GetAsync("/v2/health/ready")).StatusCode);
        Assert.Equal("1", await InferAddSubAsync(server.Client, "n"));
    }

    [Fact]
    public async Task ARouteInTwoRepositoriesFollowsTheDuplicateNameRule()
    {
        using var first = Repository();
        using var second = new TestRepository();
        WriteRoute(first, "ab", AB);
        WriteRoute(second, "ab", AB);
        (string, string)[] both = [("Server:ModelRepository:0", first.Path), ("Server:ModelRepository:1", second.Path)];

        var error = await Assert.ThrowsAsync<ServerStartException>(() => RunningServer.StartAsync(first.Path, both));
        Assert.Contains("'ab': model appears in two or more repositories", error.Message);
        await using var server = await RunningServer.StartAsync(first.Path, [.. both, KeepRunning]);
        Assert.Empty(Routes(server));
        Assert.Equal(("UNAVAILABLE", "model appears in two or more repositories"), (await IndexAsync(server.Client))["ab/-"]);
    }

    [Fact]
    public async Task PollModeFollowsAddedChangedBrokenAndRemovedRoutesWithoutReloadingTheModel()
    {
        using var repository = Repository();
        await using var server = await RunningServer.StartAsync(repository.Path, FastPoll);
        var one = server.Version("m", 1);
        var two = server.Version("m", 2);
        void VersionsUntouched()
        {
            Assert.Same(one, server.Version("m", 1));
            Assert.Same(two, server.Version("m", 2));
        }

        // Added beside the model.
        WriteRoute(repository, "m", Canary);
        await PollModeTests.WaitUntilAsync(() => Routes(server).ContainsKey("m"), "m's route to be published");
        VersionsUntouched();

        // Changed: the new weights replace the route whole.
        var shifted = Canary.Replace("90", "80", StringComparison.Ordinal).Replace("10", "20", StringComparison.Ordinal) + "\n# 10/90 to 20/80\n";
        WriteRoute(repository, "m", shifted);
        await PollModeTests.WaitUntilAsync(() => Routes(server)["m"].Config.Variant[0].Weight == 80, "m's route to change");
        Assert.Equal([80u, 20u], Routes(server)["m"].Config.Variant.Select(v => v.Weight));
        VersionsUntouched();

        // Broken: the published route serves on, and the index names the file, line and column.
        var published = Routes(server)["m"];
        WriteRoute(repository, "m", shifted + "variant { name: \"stable\" version: 2 weight: 1 }\n");
        var (_, reason) = await WaitForStateAsync(server.Client, "m/-", "UNAVAILABLE");
        Assert.Equal("m/routing.pbtxt:4:11: variant[2].name: variant 'stable' is declared twice", reason);
        Assert.Same(published, Routes(server)["m"]);
        VersionsUntouched();
        Assert.Equal("READY", (await IndexAsync(server.Client))["m/2"].State);

        // Fixed: the model's failure is gone, its versions still untouched.
        WriteRoute(repository, "m", Canary);
        await PollModeTests.WaitUntilAsync(() => Routes(server)["m"].Config.Variant[0].Weight == 90, "m's fixed route");
        await PollModeTests.WaitUntilAsync(() => Models(server)["m"].Reason.Length == 0, "m's failure to clear");
        VersionsUntouched();

        // A folder of its own.
        WriteRoute(repository, "ab", AB);
        await WaitForStateAsync(server.Client, "ab/-", "READY");
        Assert.False(Routes(server)["ab"].BesideModel);
        Assert.False(Models(server).ContainsKey("ab"));

        // Removed: the file beside the model, then the route's folder.
        File.Delete(Path.Combine(repository.Path, "m", RouteDeclaration.FileName));
        await PollModeTests.WaitUntilAsync(() => !Routes(server).ContainsKey("m"), "m's route to be taken out");
        VersionsUntouched();
        Directory.Delete(Path.Combine(repository.Path, "ab"), recursive: true);
        var (_, unloaded) = await WaitForStateAsync(server.Client, "ab/-", "UNAVAILABLE");
        Assert.Equal("unloaded", unloaded);
        Assert.Empty(Routes(server));
        Assert.Equal("1", await InferAddSubAsync(server.Client, "n"));
    }

    [Fact]
    public async Task TheRepositoryApiLoadsRefusesAndUnloadsRoutesOverRestAndGrpc()
    {
        using var repository = Repository();
        WriteRoute(repository, "ab", AB);
        await using var server = await RunningServer.StartAsync(repository.Path, ("Server:ModelControlMode", "explicit"));
        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        Assert.Equal(("UNAVAILABLE", "not loaded"), (await IndexAsync(server.Client))["ab/-"]);

        // REST: load, then a bad file refused with the reader's message while the route serves on.
        Assert.Equal((HttpStatusCode.OK, ""), await RepositoryAsync(server.Client, "/v2/repository/models/ab/load"));
        var route = Routes(server)["ab"];
        Assert.Equal(("READY", ""), (await GrpcIndexAsync(client))["ab/-"]);
        WriteRoute(repository, "ab", AB + "\nexperiment { control: \"c\" }\n");
        const string Reason = "ab/routing.pbtxt:3:14: experiment.control: 'c' is not one of the route's variants (a, b)";
        Assert.Equal((HttpStatusCode.ServiceUnavailable, $"failed to load 'ab': {Reason}"), await RepositoryAsync(server.Client, "/v2/repository/models/ab/load"));
        Assert.Same(route, Routes(server)["ab"]);

        // gRPC: the same refusal, then the fixed file loads and the index says so.
        var refused = await Assert.ThrowsAsync<RpcException>(() => client.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "ab" }).ResponseAsync);
        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        Assert.Equal($"failed to load 'ab': {Reason}", refused.Status.Detail);
        Assert.Same(route, Routes(server)["ab"]);
        Assert.Equal(("READY", Reason), (await GrpcIndexAsync(client))["ab/-"]);
        WriteRoute(repository, "ab", AB + "\nexperiment { control: \"b\" }\n");
        await client.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "ab" });
        Assert.Equal("b", Routes(server)["ab"].Config.Experiment.Control);
        Assert.Equal(("READY", ""), (await IndexAsync(server.Client))["ab/-"]);

        // A model's load reads the route beside it; a bad one fails the load and keeps the versions serving.
        WriteRoute(repository, "m", Canary);
        await client.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "m" });
        Assert.True(Routes(server)["m"].BesideModel);
        var version = server.Version("m", 2);
        WriteRoute(repository, "m", Canary.Replace("version: 2", "version: -2", StringComparison.Ordinal));
        var (status, error) = await RepositoryAsync(server.Client, "/v2/repository/models/m/load");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("failed to load 'm': m/routing.pbtxt:2:26: variant[1].version: -2 is not a version: 0 (the newest) or a version number", error);
        Assert.Same(version, server.Version("m", 2));
        Assert.Equal("1", await InferAddSubAsync(server.Client, "m/versions/1"));

        // Unload takes the route out, over either protocol.
        await client.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "ab" });
        Assert.False(Routes(server).ContainsKey("ab"));
        Assert.Equal(("UNAVAILABLE", "unloaded"), (await GrpcIndexAsync(client))["ab/-"]);
        Assert.Equal((HttpStatusCode.OK, ""), await RepositoryAsync(server.Client, "/v2/repository/models/m/unload"));
        Assert.Empty(Routes(server));
    }

    [Fact]
    public async Task AnUnknownFieldInARouteIsRefusedNamingItsFileLineAndFieldOnceOverRestAndGrpc()
    {
        using var repository = Repository();
        WriteRoute(repository, "ab", AB + "\nstiky { header: \"x-user\" }\n");
        WriteRoute(repository, "m", Canary.Replace("weight: 10", "wieght: 10", StringComparison.Ordinal));
        await using var server = await RunningServer.StartAsync(repository.Path, ("Server:ModelControlMode", "explicit"));
        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);

        // A route of its own folder, and one beside a model: the same message, its place and field named once.
        const string Alone = "ab/routing.pbtxt:3:1: stiky: unknown field (did you mean 'sticky'?); a route refuses fields it does not know";
        Assert.Equal((HttpStatusCode.ServiceUnavailable, $"failed to load 'ab': {Alone}"), await RepositoryAsync(server.Client, "/v2/repository/models/ab/load"));
        var refused = await Assert.ThrowsAsync<RpcException>(() => client.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "ab" }).ResponseAsync);
        Assert.Equal((StatusCode.Unavailable, $"failed to load 'ab': {Alone}"), (refused.StatusCode, refused.Status.Detail));
        Assert.Equal(("UNAVAILABLE", Alone), (await GrpcIndexAsync(client))["ab/-"]);

        const string Beside = "m/routing.pbtxt:2:37: variant[1].wieght: unknown field (did you mean 'weight'?); a route refuses fields it does not know";
        Assert.Equal((HttpStatusCode.ServiceUnavailable, $"failed to load 'm': {Beside}"), await RepositoryAsync(server.Client, "/v2/repository/models/m/load"));
        refused = await Assert.ThrowsAsync<RpcException>(() => client.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "m" }).ResponseAsync);
        Assert.Equal((StatusCode.Unavailable, $"failed to load 'm': {Beside}"), (refused.StatusCode, refused.Status.Detail));
        Assert.Equal(("UNAVAILABLE", Beside), (await IndexAsync(server.Client))["m/-"]);
    }
}
