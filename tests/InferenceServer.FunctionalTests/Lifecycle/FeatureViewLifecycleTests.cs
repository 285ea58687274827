using System.Net;
using Grpc.Core;
using InferenceServer.Core.Features;
using InferenceServer.Core.Models;
using InferenceServer.Core.Serving;
using InferenceServer.Hosting;
using InferenceServer.FunctionalTests.Http;
using InferenceServer.Protocols.Grpc.Messages;
using Microsoft.Extensions.DependencyInjection;
using static InferenceServer.FunctionalTests.Lifecycle.Lifecycle;

namespace InferenceServer.FunctionalTests.Lifecycle;

/// <summary>
/// features.pbtxt against a real server: income's view loads with the model and is found by the name a client
/// addresses (its own, or through a route); a view that does not read, or does not fit the model's inputs, fails the
/// folder's load over the repository API (REST and gRPC) with the file, line and column, or the view's side and the
/// model's, while the version and view that served keep serving; poll mode follows a changed, broken and removed view
/// without reloading the model; unloading takes the view out.
/// </summary>
public sealed class FeatureViewLifecycleTests
{
    private static TestRepository Repository() => new TestRepository().AddSample("income").AddSample("income_gbt").AddSample("income_ab");

    private static string ViewPath(TestRepository repository) => Path.Combine(repository.Path, "income", FeatureView.FileName);

    private static IReadOnlyDictionary<string, FeatureView> Views(RunningServer server) =>
        server.Host.Services.GetRequiredService<ModelRegistry>().Snapshot.Views;

    private static InferenceFrontDoor FrontDoor(RunningServer server) => server.Host.Services.GetRequiredService<InferenceFrontDoor>();

    // The income view with std 0 for age, and where the reader must point: the line and column of 'std'.
    private static (string Text, string Reason) BrokenStd(string view)
    {
        var broken = view.Replace("std: 13.6", "std: 0", StringComparison.Ordinal);
        var lines = broken.Split('\n');
        var line = Array.FindIndex(lines, l => l.Contains("std: 0", StringComparison.Ordinal));
        var column = lines[line].IndexOf("std: 0", StringComparison.Ordinal);
        return (broken, $"income/features.pbtxt:{line + 1}:{column + 1}: feature[0].transform[0].standardize.std: 0 is not a standard deviation to divide by: give a finite number above 0");
    }

    // A third sex: the one-hot group and the output grow to 59 columns, one more than the model takes.
    private static string Wider(string view) => view.Replace("[ \"Female\", \"Male\" ]", "[ \"Female\", \"Male\", \"Other\" ]", StringComparison.Ordinal);

    private const string WiderReason = "income/features.pbtxt: output 'features' (FP32, 59 columns) does not fit model 'income' input 'features' (TYPE_FP32, dims [58], max_batch_size 256): the view writes rows of 59 values, which needs dims [59]";

    [Theory]
    [InlineData("none")]
    [InlineData("poll")]
    [InlineData("explicit")]
    public async Task IncomeLoadsWithItsViewWhichTheFrontDoorFindsByModelAndByRoute(string mode)
    {
        using var repository = Repository();
        await using var server = await RunningServer.StartAsync(repository.Path, ("Server:ModelControlMode", mode), ("Server:LoadModels:0", "*"));

        var view = Assert.Single(Views(server)).Value;
        Assert.Equal("income", view.Name);
        Assert.Equal(58, Assert.Single(view.Outputs).Width);
        Assert.Same(view, FrontDoor(server).FindFeatureView("income"));
        // The route folder has no view of its own: its primary variant's model's.
        Assert.Same(view, FrontDoor(server).FindFeatureView("income_ab"));
        Assert.Null(FrontDoor(server).FindFeatureView("income_gbt"));
        Assert.Null(FrontDoor(server).FindFeatureView("nothing"));
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/health/ready")).StatusCode);
    }

    [Fact]
    public async Task TheRepositoryApiRefusesABrokenOrMismatchedViewOverRestAndGrpcAndKeepsWhatServes()
    {
        using var repository = Repository();
        await using var server = await RunningServer.StartAsync(repository.Path, ("Server:ModelControlMode", "explicit"));
        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var text = File.ReadAllText(ViewPath(repository));

        Assert.Equal((HttpStatusCode.OK, ""), await RepositoryAsync(server.Client, "/v2/repository/models/income/load"));
        var view = Views(server)["income"];
        var version = server.Version("income", 1);

        // REST: a transform parameter that cannot be, named by file, line and column.
        var (broken, reason) = BrokenStd(text);
        File.WriteAllText(ViewPath(repository), broken);
        Assert.Equal((HttpStatusCode.ServiceUnavailable, $"failed to load 'income': {reason}"), await RepositoryAsync(server.Client, "/v2/repository/models/income/load"));
        Assert.Same(view, Views(server)["income"]);
        Assert.Same(version, server.Version("income", 1));

        // gRPC: the same refusal.
        var refused = await Assert.ThrowsAsync<RpcException>(() => client.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "income" }).ResponseAsync);
        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        Assert.Equal($"failed to load 'income': {reason}", refused.Status.Detail);

        // A view that reads but does not fit the model's input names both sides, over either protocol.
        File.WriteAllText(ViewPath(repository), Wider(text));
        Assert.Equal((HttpStatusCode.ServiceUnavailable, $"failed to load 'income': {WiderReason}"), await RepositoryAsync(server.Client, "/v2/repository/models/income/load"));
        refused = await Assert.ThrowsAsync<RpcException>(() => client.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "income" }).ResponseAsync);
        Assert.Equal($"failed to load 'income': {WiderReason}", refused.Status.Detail);
        Assert.Same(view, Views(server)["income"]);
        Assert.Same(version, server.Version("income", 1));
        var (response, answer) = await server.Client.PostJsonAsync("/v2/models/income/infer", File.ReadAllText(Path.Combine(RepositoryPaths.Models, "income", "example_request.json")));
        Assert.True(response.StatusCode == HttpStatusCode.OK, answer?.ToJsonString());

        // Fixed: a new version of the view replaces the old one; unloading takes it out.
        File.WriteAllText(ViewPath(repository), text.Replace("version: 1", "version: 2", StringComparison.Ordinal));
        await client.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "income" });
        Assert.Equal(2, Views(server)["income"].Version);
        Assert.Equal((HttpStatusCode.OK, ""), await RepositoryAsync(server.Client, "/v2/repository/models/income/unload"));
        Assert.Empty(Views(server));
        Assert.Null(FrontDoor(server).FindFeatureView("income"));
    }

    [Fact]
    public async Task ABrokenViewFailsTheStartupLoadOfItsModelNamingWhereItIsWrong()
    {
        using var repository = Repository();
        var (broken, reason) = BrokenStd(File.ReadAllText(ViewPath(repository)));
        File.WriteAllText(ViewPath(repository), broken);

        var error = await Assert.ThrowsAsync<ServerStartException>(() => RunningServer.StartAsync(repository.Path));
        Assert.Contains(reason, error.Message);
        await using var server = await RunningServer.StartAsync(repository.Path, ("Server:ExitOnError", "false"));
        Assert.Empty(Views(server));
        Assert.Equal(("UNAVAILABLE", reason), (await IndexAsync(server.Client))["income/-"]);
    }

    [Fact]
    public async Task PollModeFollowsAChangedBrokenAndRemovedViewWithoutReloadingTheModel()
    {
        using var repository = Repository();
        await using var server = await RunningServer.StartAsync(repository.Path, FastPoll);
        var version = server.Version("income", 1);
        var text = File.ReadAllText(ViewPath(repository));
        Assert.Equal(1, Views(server)["income"].Version);

        // Changed: the new declaration replaces the view, the model serves on untouched.
        File.WriteAllText(ViewPath(repository), text.Replace("version: 1", "version: 2", StringComparison.Ordinal));
        await PollModeTests.WaitUntilAsync(() => Views(server)["income"].Version == 2, "income's view to change");
        Assert.Same(version, server.Version("income", 1));

        // Broken, then mismatched: the published view serves on and the index says why.
        var published = Views(server)["income"];
        var (broken, reason) = BrokenStd(text);
        File.WriteAllText(ViewPath(repository), broken);
        Assert.Equal(("UNAVAILABLE", reason), await WaitForStateAsync(server.Client, "income/-", "UNAVAILABLE"));
        Assert.Same(published, Views(server)["income"]);
        File.WriteAllText(ViewPath(repository), Wider(text));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await IndexAsync(server.Client)).GetValueOrDefault("income/-").Reason != WiderReason)
        {
            Assert.True(DateTime.UtcNow < deadline, "the mismatch was not reported within 30 s");
            await Task.Delay(50);
        }
        Assert.Same(published, Views(server)["income"]);
        Assert.Same(version, server.Version("income", 1));

        // Removed: the view is taken out; the model serves on.
        File.Delete(ViewPath(repository));
        await PollModeTests.WaitUntilAsync(() => !Views(server).ContainsKey("income"), "income's view to be taken out");
        Assert.Same(version, server.Version("income", 1));
    }
}
