using InferenceServer.Core.Inference;
using InferenceServer.Core.Routing;
using InferenceServer.Core.Routing.Rollouts;
using InferenceServer.UnitTests.TestDoubles;
using Microsoft.Extensions.Logging;

namespace InferenceServer.UnitTests.Routing;

/// <summary>
/// A running rollout across reloads of routing.pbtxt files through the repository API: it keeps its step, weights and
/// the counts its gates judge while its own route's declaration is unchanged (another route edited, or its own file
/// rewritten to say the same thing), and starts again, saying why in the log, only when its route itself changed.
/// </summary>
public sealed class RouteReloadTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    // The gates never judge (a million requests a step), so the counts stay as the test made them.
    private const string Rollout = """
        variant { name: "stable" version: 1 weight: 100 }
        variant { name: "canary" version: 2 weight: 0 }
        rollout { canary: "canary" steps: [ 10, 50, 100 ] min_requests: 1000000 min_step_seconds: 3600 }
        """;

    // The same declaration as someone else would write it: a comment, list syntax, another order, defaults written out.
    private const string RolloutRewritten = """
        # m's canary: version 2, stepped up from 10%
        variant [
          { name: "stable" version: 1 weight: 100 },
          { name: "canary" version: 2 }
        ]
        rollout {
          steps: [ 10, 50, 100 ]
          canary: "canary"
          baseline: "stable"
          min_step_seconds: 3600
          min_requests: 1000000
          max_p99_ratio: 1.5
        }
        variant_header: "x-variant"
        """;

    private const string AB = """
        variant { name: "a" model: "m" weight: 50 }
        variant { name: "b" model: "other" weight: 50 }
        """;

    private static async Task<RoutedCore> StartAsync()
    {
        var routed = await RoutedCore.StartAsync();
        await routed.WriteRouteAsync("m", Rollout);
        await routed.WriteRouteAsync("ab", AB);
        return routed;
    }

    // Requests to route m, forced to a variant so that the counts are exact; the rollout counts forced requests too.
    private static async Task SendAsync(RoutedCore routed, string variant, int count)
    {
        var context = RoutedCore.Context(headers: new() { ["x-variant"] = variant });
        for (var i = 0; i < count; i++)
        {
            using var request = new InferenceRequest { ModelName = "m" };
            request.Inputs.Add(AddOneInstance.Int32Tensor("INPUT0", [1, 2], 10, 20));
            var target = routed.Core.Door.Resolve("m", null, context);
            using var response = await routed.Core.Door.InferAsync(target, request, context, CancellationToken.None).WaitAsync(Patience);
            Assert.Equal(variant, response.Variant);
        }
    }

    private static RolloutStatus Status(RoutedCore routed) => routed.Core.Door.Rollout("m");

    [Fact]
    public async Task Editing_another_routes_weights_keeps_a_running_rollout_its_step_and_its_counts()
    {
        await using var routed = await StartAsync();
        var runtime = routed.Runtime("m");
        await SendAsync(routed, "canary", 7);
        await SendAsync(routed, "stable", 5);

        await routed.WriteRouteAsync("ab", AB.Replace("50", "70", StringComparison.Ordinal));

        Assert.Equal([70u, 70u], routed.Core.Registry.Snapshot.Routes["ab"].Config.Variant.Select(v => v.Weight));
        Assert.Same(runtime, routed.Runtime("m"));
        var status = Status(routed);
        Assert.Equal((RolloutState.Progressing, 1, 10u, 7L, 5L), (status.State, status.Step, status.CanaryPercent, status.Canary.Requests, status.Baseline.Requests));
        Assert.Equal([90u, 10u], routed.Runtime("m").Weights.Current.ToArray());
    }

    [Fact]
    public async Task Rewriting_a_routes_file_without_changing_its_declaration_keeps_its_rollout_weights_and_counts()
    {
        await using var routed = await StartAsync();
        var logs = new ListLoggerProvider();
        routed.Core.Loggers.AddProvider(logs);
        routed.Core.Door.ControlRollout("m", "promote");
        await SendAsync(routed, "canary", 3);
        await SendAsync(routed, "stable", 4);
        var runtime = routed.Runtime("m");

        await routed.WriteRouteAsync("m", RolloutRewritten);

        Assert.Same(runtime, routed.Runtime("m"));
        var status = Status(routed);
        Assert.Equal((2, 50u, 3L, 4L), (status.Step, status.CanaryPercent, status.Canary.Requests, status.Baseline.Requests));
        Assert.Equal([50u, 50u], routed.Runtime("m").Weights.Current.ToArray());
        Assert.DoesNotContain(logs.Logger.Entries, e => e.Message.Contains("declared anew", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_change_to_the_route_itself_starts_its_rollout_again_and_the_log_says_what_changed_and_what_was_lost()
    {
        await using var routed = await StartAsync();
        var logs = new ListLoggerProvider();
        routed.Core.Loggers.AddProvider(logs);
        await SendAsync(routed, "canary", 7);
        var runtime = routed.Runtime("m");

        await routed.WriteRouteAsync("m", Rollout.Replace("1000000", "500", StringComparison.Ordinal));

        Assert.NotSame(runtime, routed.Runtime("m"));
        Assert.True(runtime.IsDisposed);
        var status = Status(routed);
        Assert.Equal((RolloutState.Progressing, 1, 0L, 500u), (status.State, status.Step, status.Canary.Requests, status.Config.MinRequests));
        var logged = Assert.Single(logs.Logger.Entries, e => e.Message.Contains("declared anew", StringComparison.Ordinal));
        Assert.Equal(LogLevel.Information, logged.Level);
        Assert.Equal("Route 'm' is declared anew (rollout changed): its weights, rollout (it was at step 1, the canary at 10% with 7 requests in the step) start afresh",
            logged.Message);
    }
}
