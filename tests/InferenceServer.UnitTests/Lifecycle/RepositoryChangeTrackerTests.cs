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
}
