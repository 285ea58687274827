using InferenceServer.Core.Inference;
using InferenceServer.Core.Routing.Experiments;
using InferenceServer.UnitTests.Monitoring;
using InferenceServer.UnitTests.TestDoubles;

namespace InferenceServer.UnitTests.Routing;

/// <summary>
/// The metrics of a route's shadow, rollout and experiment: read from the route's runtime before each scrape, counters
/// cumulative across a changed declaration (which starts the runtime's own counts again), gauges only while the route lives.
/// </summary>
public sealed class RouteComponentMetricsTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static string Route(int generation) => $$"""
        variant { name: "stable" version: 1 weight: 100 }
        variant { name: "canary" version: 2 weight: 0 }
        shadow { variant: "canary" percent: 100 }
        rollout { canary: "canary" steps: [10, 50, 100] min_step_seconds: 3600 }
        experiment { window: {{1000 + generation}} }
        """;

    private static string Labels(string variant) => $"route=\"m\",variant=\"{variant}\"";

    private static async Task<string> InferAsync(RoutedCore routed)
    {
        using var request = new InferenceRequest { ModelName = "m" };
        request.Inputs.Add(AddOneInstance.Int32Tensor("INPUT0", [1, 2], 10, 20));
        // Keyed to the baseline so that the shadow always has a primary to copy (the rollout sends some keys to the
        // canary, and a request forced by the header is never shadowed).
        var key = 0;
        while (routed.Variant("m", RoutedCore.Keyed(key.ToString(System.Globalization.CultureInfo.InvariantCulture))) != "stable")
        {
            key++;
        }
        var context = RoutedCore.Keyed(key.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var target = routed.Core.Door.Resolve("m", null, context);
        using var response = await routed.Core.Door.InferAsync(target, request, context, CancellationToken.None).WaitAsync(Patience);
        return response.Id;
    }

    private static async Task RunAsync(RoutedCore routed, int requests)
    {
        var start = routed.Runtime("m").Shadow!.Snapshot().Compared;
        var ids = new List<string>();
        for (var i = 0; i < requests; i++)
        {
            ids.Add(await InferAsync(routed));
        }
        var deadline = DateTime.UtcNow + Patience;
        while (routed.Runtime("m").Shadow!.Snapshot().Compared < start + requests)
        {
            Assert.True(DateTime.UtcNow < deadline, "the shadow did not compare every copy in time");
            await Task.Delay(10);
        }
        // After the shadow answered the same ids: its copies must not have taken the outcomes from the primary.
        for (var i = 0; i < ids.Count; i++)
        {
            Assert.Equal("stable", routed.Core.Door.Feedback("m", ids[i], Outcome.Conversion(i % 2 == 0)).Variant);
        }
    }

    [Fact]
    public async Task Shadow_rollout_and_experiment_counts_are_published_and_stay_cumulative_across_a_changed_declaration()
    {
        await using var routed = await RoutedCore.StartAsync();
        routed.Publish("m", Route(0));

        // Published at zero from the first scrape, so dashboards see the series before traffic.
        var scrape = await Scrape.TakeAsync(routed.Core.Metrics);
        Assert.Equal(0, scrape.Value("inference_server_route_shadow_sampled_total", Labels("canary")));
        Assert.Equal(0, scrape.Value("inference_server_route_outcomes_total", Labels("stable")));
        Assert.Equal(10, scrape.Value("inference_server_route_rollout_canary_percent", Labels("canary")));
        Assert.Equal(1, scrape.Value("inference_server_route_rollout_step", Labels("canary")));
        Assert.Equal(1, scrape.Value("inference_server_route_rollout_state", Labels("canary") + ",state=\"progressing\""));
        Assert.Equal(0, scrape.Value("inference_server_route_rollout_state", Labels("canary") + ",state=\"promoted\""));

        await RunAsync(routed, 4);
        scrape = await Scrape.TakeAsync(routed.Core.Metrics);
        Assert.Equal(4, scrape.Value("inference_server_route_shadow_sampled_total", Labels("canary")));
        Assert.Equal(4, scrape.Value("inference_server_route_shadow_compared_total", Labels("canary")));
        Assert.Equal(0, scrape.Value("inference_server_route_shadow_failed_total", Labels("canary")));
        Assert.Equal(0, scrape.Value("inference_server_route_shadow_dropped_total", Labels("canary")));
        // Version 2 of the fake adds one as version 1 does: the shadow agrees on its one output.
        Assert.Equal(0, scrape.Value("inference_server_route_shadow_mean_abs_difference", Labels("canary") + ",output=\"OUTPUT0\""));
        Assert.Equal(4, scrape.Value("inference_server_route_outcomes_total", Labels("stable")));
        Assert.Equal(2, scrape.Value("inference_server_route_conversions_total", Labels("stable")));
        Assert.Equal(0, scrape.Value("inference_server_route_outcomes_total", Labels("canary")));
        // A second scrape adds nothing that was not counted since the first.
        scrape = await Scrape.TakeAsync(routed.Core.Metrics);
        Assert.Equal(4, scrape.Value("inference_server_route_shadow_sampled_total", Labels("canary")));

        routed.Core.Door.ControlRollout("m", "promote");
        scrape = await Scrape.TakeAsync(routed.Core.Metrics);
        Assert.Equal(50, scrape.Value("inference_server_route_rollout_canary_percent", Labels("canary")));
        Assert.Equal(2, scrape.Value("inference_server_route_rollout_step", Labels("canary")));
        Assert.Equal(1, scrape.Value("inference_server_route_rollout_promotions_total", Labels("canary")));
        Assert.Equal(1, scrape.Value("inference_server_route_rollout_state", Labels("canary") + ",state=\"progressing\""));

        // A changed declaration makes a new runtime whose counts start at zero; the counters go on from where they were,
        // including what the old runtime counted after the last scrape.
        await RunAsync(routed, 1);
        routed.Publish("m", Route(1));
        await RunAsync(routed, 2);
        routed.Core.Door.ControlRollout("m", "promote");
        routed.Core.Door.ControlRollout("m", "promote");
        scrape = await Scrape.TakeAsync(routed.Core.Metrics);
        Assert.Equal(7, scrape.Value("inference_server_route_shadow_sampled_total", Labels("canary")));
        Assert.Equal(7, scrape.Value("inference_server_route_shadow_compared_total", Labels("canary")));
        Assert.Equal(7, scrape.Value("inference_server_route_outcomes_total", Labels("stable")));
        Assert.Equal(100, scrape.Value("inference_server_route_rollout_canary_percent", Labels("canary")));
        Assert.Equal(3, scrape.Value("inference_server_route_rollout_promotions_total", Labels("canary")));
        Assert.Equal(0, scrape.Value("inference_server_route_rollout_rollbacks_total", Labels("canary")));
        Assert.Equal(1, scrape.Value("inference_server_route_rollout_state", Labels("canary") + ",state=\"promoted\""));
        Assert.Equal(0, scrape.Value("inference_server_route_rollout_state", Labels("canary") + ",state=\"progressing\""));

        // The route goes: its gauges go, its counters stay.
        routed.Core.Registry.PublishRoute("m", null);
        scrape = await Scrape.TakeAsync(routed.Core.Metrics);
        Assert.Empty(scrape.Series("inference_server_route_rollout_state"));
        Assert.Empty(scrape.Series("inference_server_route_shadow_mean_abs_difference"));
        Assert.Equal(7, scrape.Value("inference_server_route_shadow_sampled_total", Labels("canary")));
    }
}
