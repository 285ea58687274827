using System.Net;
using Grpc.Core;
using InferenceServer.Protocols.Grpc.Messages;
using static InferenceServer.FunctionalTests.Access.AccessClient;

namespace InferenceServer.FunctionalTests.Routing;

/// <summary>
/// The route calls carry their access categories through a real server with tokens, over REST and gRPC: feedback is
/// inference, the reports are statistics, steering a rollout is the repository's; a watcher's token (infer and
/// statistics) reads a rollout but cannot abort it, an operator's (repository) can.
/// </summary>
public sealed class RouteAccessTests
{
    private const string Watcher = "s3cret-watcher-5d2e8a1c9f7b3e6a";
    private const string Operator = "s3cret-operator-0b4f6c2a8e1d7c9f";

    [Fact]
    public async Task A_token_without_the_repository_scope_reads_a_rollout_but_cannot_abort_it_over_rest_or_grpc()
    {
        using var repository = new TestRepository();
        var model = File.ReadAllBytes(Path.Combine(RepositoryPaths.Models, "income", "1", "model.onnx"));
        var config = File.ReadAllText(Path.Combine(RepositoryPaths.Models, "income", "config.pbtxt")) + "\nversion_policy: { all: {} }\n";
        repository.Add("income", config, model, "model.onnx", 1, 2);
        repository.AddSample("income_gbt");
        RouteApiTests.Server.Declare(repository, "canary", RouteApiTests.Rollout);
        RouteApiTests.Server.Declare(repository, "ab", RouteApiTests.AbTest);
        await using var server = await RunningServer.StartAsync(repository.Path,
            ("Auth:Tokens:0", Entry("watcher", Watcher, "infer,statistics")), ("Auth:Tokens:1", Entry("operator", Operator, "repository")),
            ("Auth:OpenScopes", "none"));
        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        var routes = new RouteService.RouteServiceClient(channel);

        using (var read = await SendAsync(server.Client, HttpMethod.Get, "/v2/models/canary/rollout", bearer: Watcher))
        {
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        }
        using (var abort = await SendAsync(server.Client, HttpMethod.Post, "/v2/models/canary/rollout/abort", bearer: Watcher))
        {
            Assert.Equal(HttpStatusCode.Forbidden, abort.StatusCode);
            Assert.Contains("does not have scope 'repository'", await abort.Content.ReadAsStringAsync());
        }
        using (var report = await SendAsync(server.Client, HttpMethod.Get, "/v2/models/ab/experiment", bearer: Operator))
        {
            Assert.Equal(HttpStatusCode.Forbidden, report.StatusCode);
        }
        // Feedback is the inferring client's: the watcher reaches the route (an id it never sent is not found), the operator does not.
        using (var feedback = await SendAsync(server.Client, HttpMethod.Post, "/v2/models/ab/feedback", """{"id": "x", "conversion": true}""", Watcher))
        {
            Assert.Equal(HttpStatusCode.NotFound, feedback.StatusCode);
        }
        using (var feedback = await SendAsync(server.Client, HttpMethod.Post, "/v2/models/ab/feedback", """{"id": "x", "conversion": true}""", Operator))
        {
            Assert.Equal(HttpStatusCode.Forbidden, feedback.StatusCode);
        }

        Assert.Equal("progressing", (await routes.RouteRolloutAsync(new RouteRolloutRequest { Route = "canary" }, Bearer(Watcher))).State);
        var denied = await Assert.ThrowsAsync<RpcException>(async () =>
            await routes.RouteRolloutActionAsync(new RouteRolloutActionRequest { Route = "canary", Action = "abort" }, Bearer(Watcher)));
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
        var feedbackDenied = await Assert.ThrowsAsync<RpcException>(async () =>
            await routes.RouteFeedbackAsync(new RouteFeedbackRequest { Route = "ab", Id = "x", Conversion = true }, Bearer(Operator)));
        Assert.Equal(StatusCode.PermissionDenied, feedbackDenied.StatusCode);

        // Denied, nothing changed: the operator's abort is the one that takes the canary out.
        Assert.Equal("aborted", (await routes.RouteRolloutActionAsync(new RouteRolloutActionRequest { Route = "canary", Action = "abort" }, Bearer(Operator))).State);
        using var after = await SendAsync(server.Client, HttpMethod.Post, "/v2/models/canary/rollout/abort", bearer: Operator);
        Assert.Equal(HttpStatusCode.BadRequest, after.StatusCode);
    }
}
