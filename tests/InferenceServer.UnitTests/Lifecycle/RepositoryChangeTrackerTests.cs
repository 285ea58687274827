using InferenceServer.Core.Lifecycle;
using InferenceServer.UnitTests.TestDoubles;

namespace InferenceServer.UnitTests.Lifecycle;

/// <summary>Poll mode's completion rule on a fake clock: what a scan hands over, and when.</summary>
public sealed class RepositoryChangeTrackerTests
{
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(2);

    private readonly ManualTimeProvider _clock = new();

    private RepositoryChangeTracker Tracker(string marker = "") => new(_clock, Quiet, marker);

    private static ModelFolderState Model(string config, params (long Number, string Signature)[] versions) =>
        Model(config, versions.Select(v => (v.Number, v.Signature, false)).ToArray());

    private static ModelFolderState Model(string config, (long Number, string Signature, bool Marker)[] versions) =>
        new("m", "/repo/m", config, versions.ToDictionary(v => v.Number, v => new VersionFolderState($"/repo/m/{v.Number}", v.Signature, v.Marker)));

    // Model m with a routing.pbtxt of signature route ("": none).
    private static ModelFolderState Routed(string route, string config, params (long Number, string Signature)[] versions) =>
        Model(config, versions) with { RouteSignature = route };

    [Fact]
    public void A_new_version_is_handed_over_once_it_stayed_unchanged_for_the_quiet_interval()
    {
        var tracker = Tracker();
        tracker.Baseline([Model("c1", (1, "a"))]);

        Assert.Empty(tracker.Observe([Model("c1", (1, "a"), (2, "b-partial"))]));
        _clock.Advance(TimeSpan.FromSeconds(1));
        // Still being written: the signature moved, so the quiet interval starts again.
        Assert.Empty(tracker.Observe([Model("c1", (1, "a"), (2, "b-more"))]));
        _clock.Advance(TimeSpan.FromSeconds(1.5));
        Assert.Empty(tracker.Observe([Model("c1", (1, "a"), (2, "b-more"))]));
        Assert.Equal(TimeSpan.FromSeconds(0.5), tracker.NextCheck());
        _clock.Advance(TimeSpan.FromSeconds(0.5));

        var change = Assert.Single(tracker.Observe([Model("c1", (1, "a"), (2, "b-more"))]));
        Assert.Equal("m", change.Name);
        Assert.Equal([1L, 2L], change.Directory!.Versions.Keys.Order());
        Assert.Equal("b-more", change.Signatures[2]);
        Assert.Null(tracker.NextCheck());
        // Handed over once; the same view is not handed over again (a failed load is not retried until the folder changes).
        _clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Empty(tracker.Observe([Model("c1", (1, "a"), (2, "b-more"))]));
    }

    [Fact]
    public void An_empty_version_folder_is_never_complete()
    {
        var tracker = Tracker();
        tracker.Baseline([Model("c1", (1, "a"))]);
        Assert.Empty(tracker.Observe([Model("c1", (1, "a"), (2, ""))]));
        _clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Empty(tracker.Observe([Model("c1", (1, "a"), (2, ""))]));
    }

    [Fact]
    public void A_loaded_version_being_rewritten_keeps_its_old_view_until_the_rewrite_is_complete()
    {
        var tracker = Tracker();
        tracker.Baseline([Model("c1", (1, "a"))]);

        Assert.Empty(tracker.Observe([Model("c1", (1, "a-rewriting"))]));
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Empty(tracker.Observe([Model("c1", (1, "a-rewritten"))]));
        _clock.Advance(Quiet);
        var change = Assert.Single(tracker.Observe([Model("c1", (1, "a-rewritten"))]));
        Assert.Equal("a-rewritten", change.Signatures[1]);
    }

    [Fact]
    public void A_config_being_written_holds_the_model_back()
    {
        var tracker = Tracker();
        tracker.Baseline([Model("c1", (1, "a"))]);

        Assert.Empty(tracker.Observe([Model("c2", (1, "a"))]));
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Empty(tracker.Observe([Model("c2", (1, "a"))]));
        _clock.Advance(TimeSpan.FromSeconds(1));
        var change = Assert.Single(tracker.Observe([Model("c2", (1, "a"))]));
        Assert.Equal("/repo/m/config.pbtxt", change.Directory!.ConfigPath);
    }

    [Fact]
    public void Removed_versions_and_models_are_handed_over_at_once()
    {
        var tracker = Tracker();
        tracker.Baseline([Model("c1", (1, "a"), (2, "b"))]);

        var change = Assert.Single(tracker.Observe([Model("c1", (2, "b"))]));
        Assert.Equal([2L], change.Directory!.Versions.Keys);

        change = Assert.Single(tracker.Observe([]));
        Assert.Equal("m", change.Name);
        Assert.Null(change.Directory);
    }

    [Fact]
    public void A_new_model_folder_is_handed_over_once_a_version_in_it_is_complete()
    {
        var tracker = Tracker();
        tracker.Baseline([]);

        Assert.Empty(tracker.Observe([Model("", (1, "partial"))]));
        _clock.Advance(Quiet);
        var change = Assert.Single(tracker.Observe([Model("", (1, "partial"))]));
        Assert.Null(change.Directory!.ConfigPath);
        Assert.Equal([1L], change.Directory.Versions.Keys);
    }

    [Fact]
    public void With_a_marker_a_folder_is_complete_exactly_when_it_holds_the_marker()
    {
        var tracker = Tracker(marker: "DONE");
        tracker.Baseline([Model("c1", [(1, "a", true)])]);

        Assert.Empty(tracker.Observe([Model("c1", [(1, "a", true), (2, "b", false)])]));
        _clock.Advance(TimeSpan.FromMinutes(10));
        // However old, no marker: not complete.
        Assert.Empty(tracker.Observe([Model("c1", [(1, "a", true), (2, "b", false)])]));
        Assert.Null(tracker.NextCheck());
        // The marker makes it complete at once, without waiting for the quiet interval.
        var change = Assert.Single(tracker.Observe([Model("c1", [(1, "a", true), (2, "b+marker", true)])]));
        Assert.Equal([1L, 2L], change.Directory!.Versions.Keys.Order());
    }

    [Fact]
    public void A_change_to_routing_pbtxt_alone_is_handed_over_once_quiet_without_the_model()
    {
        var tracker = Tracker();
        tracker.Baseline([Routed("r1", "c1", (1, "a"))]);

        Assert.Empty(tracker.Observe([Routed("r2", "c1", (1, "a"))]));
        Assert.Equal(Quiet, tracker.NextCheck());
        _clock.Advance(Quiet);
        var change = Assert.Single(tracker.Observe([Routed("r2", "c1", (1, "a"))]));
        Assert.False(change.ModelChanged);
        Assert.Equal("/repo/m/routing.pbtxt", change.Directory!.RoutePath);
        Assert.Equal([1L], change.Directory.Versions.Keys);
        Assert.Null(tracker.NextCheck());

        // Removed: handed over as a route change too, with no route file.
        Assert.Empty(tracker.Observe([Routed("", "c1", (1, "a"))]));
        _clock.Advance(Quiet);
        change = Assert.Single(tracker.Observe([Routed("", "c1", (1, "a"))]));
        Assert.False(change.ModelChanged);
        Assert.Null(change.Directory!.RoutePath);
        Assert.Empty(tracker.Observe([Routed("", "c1", (1, "a"))]));
    }

    [Fact]
    public void A_change_to_features_pbtxt_alone_is_handed_over_once_quiet_without_the_model()
    {
        var tracker = Tracker();
        tracker.Baseline([Model("c1", (1, "a")) with { FeaturesSignature = "f1" }]);

        Assert.Empty(tracker.Observe([Model("c1", (1, "a")) with { FeaturesSignature = "f2" }]));
        Assert.Equal(Quiet, tracker.NextCheck());
        _clock.Advance(Quiet);
        var change = Assert.Single(tracker.Observe([Model("c1", (1, "a")) with { FeaturesSignature = "f2" }]));
        Assert.False(change.ModelChanged);
        Assert.Equal("/repo/m/features.pbtxt", change.Directory!.FeaturesPath);
        Assert.Null(change.Directory.RoutePath);
        Assert.Null(tracker.NextCheck());

        // Removed: handed over too, with no view file.
        Assert.Empty(tracker.Observe([Model("c1", (1, "a"))]));
        _clock.Advance(Quiet);
        change = Assert.Single(tracker.Observe([Model("c1", (1, "a"))]));
        Assert.False(change.ModelChanged);
        Assert.Null(change.Directory!.FeaturesPath);
        Assert.Empty(tracker.Observe([Model("c1", (1, "a"))]));
    }

    [Fact]
    public void A_model_change_with_a_route_change_is_one_model_change_that_waits_for_both_files()
    {
        var tracker = Tracker();
        tracker.Baseline([Routed("r1", "c1", (1, "a"))]);

        Assert.Empty(tracker.Observe([Routed("r1", "c1", (1, "a"), (2, "b"))]));
        _clock.Advance(TimeSpan.FromSeconds(1));
        // routing.pbtxt still being written holds the new version back.
        Assert.Empty(tracker.Observe([Routed("r2", "c1", (1, "a"), (2, "b"))]));
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Empty(tracker.Observe([Routed("r2", "c1", (1, "a"), (2, "b"))]));
        _clock.Advance(TimeSpan.FromSeconds(1));
        var change = Assert.Single(tracker.Observe([Routed("r2", "c1", (1, "a"), (2, "b"))]));
        Assert.True(change.ModelChanged);
        Assert.Equal([1L, 2L], change.Directory!.Versions.Keys.Order());
        Assert.NotNull(change.Directory.RoutePath);
    }

    [Fact]
    public void A_folder_holding_only_a_routing_pbtxt_is_handed_over_as_a_route_and_then_left_alone()
    {
        var tracker = Tracker();
        tracker.Baseline([]);

        Assert.Empty(tracker.Observe([Routed("r1", "")]));
        _clock.Advance(Quiet);
        var change = Assert.Single(tracker.Observe([Routed("r1", "")]));
        Assert.False(change.ModelChanged);
        Assert.True(change.Directory!.IsRouteOnly);
        // A route has no version to wait for: nothing calls for another scan.
        Assert.Null(tracker.NextCheck());
        _clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Empty(tracker.Observe([Routed("r1", "")]));

        // Its file deleted, the folder left empty: handed over, so the route is taken out.
        Assert.Empty(tracker.Observe([Routed("", "")]));
        _clock.Advance(Quiet);
        change = Assert.Single(tracker.Observe([Routed("", "")]));
        Assert.Null(change.Directory!.RoutePath);
        Assert.False(change.Directory.IsRouteOnly);

        _clock.Advance(Quiet);
        Assert.Empty(tracker.Observe([Routed("r2", "")]));
        _clock.Advance(Quiet);
        Assert.True(Assert.Single(tracker.Observe([Routed("r2", "")])).Directory!.IsRouteOnly);
        change = Assert.Single(tracker.Observe([]));
        Assert.Null(change.Directory);
    }

    [Fact]
    public void A_new_model_folder_with_a_route_is_handed_over_once_a_version_in_it_is_complete()
    {
        var tracker = Tracker();
        tracker.Baseline([]);

        Assert.Empty(tracker.Observe([Routed("r1", "c1", (1, "partial"))]));
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Empty(tracker.Observe([Routed("r1", "c1", (1, "more"))]));
        _clock.Advance(TimeSpan.FromSeconds(1));
        // The route is quiet, the version is not: neither is handed over, so the route is not read as one of other models.
        Assert.Empty(tracker.Observe([Routed("r1", "c1", (1, "more"))]));
        _clock.Advance(TimeSpan.FromSeconds(1));
        var change = Assert.Single(tracker.Observe([Routed("r1", "c1", (1, "more"))]));
        Assert.True(change.ModelChanged);
        Assert.True(change.Directory!.HoldsModel);
    }

    [Fact]
    public void A_new_folder_with_only_a_config_does_not_call_for_scans_once_its_config_is_quiet()
    {
        var tracker = Tracker();
        tracker.Baseline([]);

        Assert.Empty(tracker.Observe([Model("c1")]));
        Assert.Equal(Quiet, tracker.NextCheck());
        _clock.Advance(Quiet);
        Assert.Empty(tracker.Observe([Model("c1")]));
        Assert.Null(tracker.NextCheck());
    }

    [Fact]
    public void A_route_change_replacing_a_pending_model_change_keeps_the_model_change()
    {
        var tracker = Tracker();
        tracker.Baseline([Routed("r1", "c1", (1, "a"))]);
        Assert.Empty(tracker.Observe([Routed("r1", "c1", (1, "a"), (2, "b"))]));
        _clock.Advance(Quiet);
        var modelChange = Assert.Single(tracker.Observe([Routed("r1", "c1", (1, "a"), (2, "b"))]));
        _clock.Advance(Quiet);
        Assert.Empty(tracker.Observe([Routed("r2", "c1", (1, "a"), (2, "b"))]));
        _clock.Advance(Quiet);
        var routeChange = Assert.Single(tracker.Observe([Routed("r2", "c1", (1, "a"), (2, "b"))]));
        Assert.False(routeChange.ModelChanged);

        // Applied together, the newer view carries the version 2 it did not see change.
        var latest = routeChange.Replacing(modelChange);
        Assert.True(latest.ModelChanged);
        Assert.Same(routeChange.Directory, latest.Directory);
        var removal = new RepositoryChange("m", null, new Dictionary<long, string>());
        Assert.True(routeChange.Replacing(removal).ModelChanged);
        Assert.Same(modelChange, modelChange.Replacing(routeChange));
        Assert.Same(routeChange, routeChange.Replacing(routeChange));
    }
}
