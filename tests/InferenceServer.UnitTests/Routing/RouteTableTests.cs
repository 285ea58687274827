using InferenceServer.Core.Inference;

namespace InferenceServer.UnitTests.Routing;

/// <summary>Declared routes in the route table: where each is entered, what describes it, and how long its runtime lives.</summary>
public sealed class RouteTableTests
{
    private const string BesideM = """
        variant { name: "stable" version: 1 weight: 9 }
        variant { name: "canary" version: 2 weight: 1 }
        """;

    private const string AloneAb = """
        variant { name: "a" model: "other" weight: 1 }
        variant { name: "b" model: "m" version: 2 weight: 1 }
        """;

    [Fact]
    public async Task A_route_beside_a_model_is_the_models_entry_and_a_route_alone_is_described_by_its_primary()
    {
        await using var routed = await RoutedCore.StartAsync();
        var door = routed.Core.Door;
        Assert.False(door.FindModel("m").RoutesTraffic);

        routed.Publish("m", BesideM);
        routed.Publish("ab", AloneAb, besideModel: false);

        var m = door.FindModel("m");
        Assert.True(m.RoutesTraffic);
        Assert.Equal(["1", "2"], m.ReadyVersions);
        // Described by the primary (stable = v1), not by the newest version nor by the variant a request would take.
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(("m", "1"), (door.Describe("m", null, default).Name, door.Describe("m", null, default).Version));
        }
        Assert.Equal("2", door.Describe("m", "2", default).Version);

        var ab = door.FindModel("ab");
        Assert.True(ab.RoutesTraffic);
        Assert.Equal(["1"], ab.ReadyVersions);
        var described = door.Describe("ab", null, default);
        Assert.Equal(("ab", "1"), (described.Name, described.Version));
        Assert.Same(routed.Core.Resolve("other"), described.Serving);
        Assert.Same(door.ModelConfig("other", null, default), door.ModelConfig("ab", null, default));
        // The variants' targets carry the route's name; the versions behind them are the models'.
        var b = door.Resolve("ab", null, RoutedCore.Context(headers: new() { ["x-variant"] = "b" }));
        Assert.Equal(("ab", "2", "b"), (b.Name, b.Version, b.Variant!.Name));
        Assert.Same(routed.Core.Resolve("m", "2"), b.Serving);
        Assert.True(door.IsModelReady("ab", null, default));
    }

    [Fact]
    public async Task A_route_alone_with_the_name_of_a_model_yields_to_the_model()
    {
        await using var routed = await RoutedCore.StartAsync();

        routed.Publish("other", AloneAb, besideModel: false);

        Assert.False(routed.Core.Door.FindModel("other").RoutesTraffic);
        Assert.False(routed.Core.Router.Table.Runtimes.ContainsKey("other"));
        Assert.Null(routed.Variant("other", default));
    }

    [Fact]
    public async Task A_route_alone_whose_primary_is_not_loaded_is_described_by_a_variant_that_serves_and_says_why_when_none_does()
    {
        await using var routed = await RoutedCore.StartAsync();
        routed.Publish("ab", """
            variant { name: "a" model: "ghost" weight: 1 }
            variant { name: "b" model: "m" version: 2 weight: 1 }
            """, besideModel: false);

        Assert.Equal(("ab", "2"), (routed.Core.Door.Describe("ab", null, default).Name, routed.Core.Door.Describe("ab", null, default).Version));
        // Named versions are the primary's model's, which is not loaded.
        var named = Assert.Throws<InferenceException>(() => routed.Core.Door.Resolve("ab", "1", default));
        Assert.Equal((InferenceErrorKind.NotFound, "unknown version '1' of model 'ab'"), (named.Kind, named.Message));

        await routed.Core.Door.UnloadModelAsync("m", unloadDependents: false, CancellationToken.None);
        var error = Assert.Throws<InferenceException>(() => routed.Core.Door.Describe("ab", null, default));
        Assert.Equal(InferenceErrorKind.Unavailable, error.Kind);
        Assert.False(routed.Core.Door.IsModelReady("ab", null, default));
    }

    [Fact]
    public async Task A_route_keeps_its_runtime_across_table_swaps_until_it_goes_or_is_declared_anew()
    {
        await using var routed = await RoutedCore.StartAsync();
        routed.Publish("m", BesideM);
        var runtime = routed.Runtime("m");
        runtime.Weights.Set([1, 1]);

        // Models loading and unloading rebuild the table; the unchanged declaration keeps its runtime and weights.
        await routed.Core.Door.UnloadModelAsync("other", unloadDependents: false, CancellationToken.None);
        await routed.Core.Door.LoadModelAsync("other", null, CancellationToken.None);
        routed.Publish("m", BesideM);
        Assert.Same(runtime, routed.Runtime("m"));
        Assert.Equal([1u, 1u], runtime.Weights.Current.ToArray());

        // A changed declaration starts again from its own weights; the old runtime is retired.
        routed.Publish("m", BesideM.Replace("weight: 1 }", "weight: 3 }", StringComparison.Ordinal));
        var changed = routed.Runtime("m");
        Assert.NotSame(runtime, changed);
        Assert.True(runtime.IsDisposed);
        Assert.Equal([9u, 3u], changed.Weights.Current.ToArray());

        routed.Core.Registry.PublishRoute("m", null);
        Assert.True(changed.IsDisposed);
        Assert.False(routed.Core.Door.FindModel("m").RoutesTraffic);
        Assert.Equal("2", routed.Core.Door.Resolve("m", null, default).Version);
    }

    [Fact]
    public async Task Weights_change_whole_and_refuse_a_set_of_the_wrong_size()
    {
        await using var routed = await RoutedCore.StartAsync();
        routed.Publish("m", BesideM);
        var weights = routed.Runtime("m").Weights;
        var before = weights.Current.ToArray();

        weights.Set(1, 5);
        Assert.Equal([9u, 5u], weights.Current.ToArray());
        Assert.Equal([9u, 1u], before);
        Assert.Throws<ArgumentException>(() => weights.Set([1, 2, 3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => weights.Set(2, 1));
        Assert.Equal([9u, 5u], weights.Current.ToArray());
    }
}
