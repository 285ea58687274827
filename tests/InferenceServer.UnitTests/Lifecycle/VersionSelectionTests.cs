using InferenceServer.Core.Lifecycle;
using InferenceServer.Core.Repository;

namespace InferenceServer.UnitTests.Lifecycle;

/// <summary>Which versions serve after a (re)load: the policy's ready versions, and what served when something failed.</summary>
public sealed class VersionSelectionTests
{
    [Fact]
    public void A_new_version_that_loaded_replaces_the_old_one() =>
        Assert.Equal([2L], VersionSelection.Serving(targetReady: [2], targetFailed: [], currentlyServing: [1], onDisk: [1, 2]));

    [Fact]
    public void A_new_version_that_failed_leaves_the_old_one_serving() =>
        Assert.Equal([1L], VersionSelection.Serving(targetReady: [], targetFailed: [2], currentlyServing: [1], onDisk: [1, 2]));

    [Fact]
    public void With_two_serving_versions_a_failed_third_keeps_both_and_the_good_one_joins() =>
        Assert.Equal([1L, 2L, 4L], VersionSelection.Serving(targetReady: [2, 4], targetFailed: [3], currentlyServing: [1, 2], onDisk: [1, 2, 3, 4]));

    [Fact]
    public void A_version_whose_folder_is_gone_stops_serving_even_when_another_failed() =>
        Assert.Equal([2L], VersionSelection.Serving(targetReady: [2], targetFailed: [3], currentlyServing: [1, 2], onDisk: [2, 3]));

    [Fact]
    public void A_reload_of_the_same_version_that_failed_keeps_the_loaded_one() =>
        Assert.Equal([1L], VersionSelection.Serving(targetReady: [], targetFailed: [1], currentlyServing: [1], onDisk: [1]));

    [Fact]
    public void Nothing_serves_when_nothing_loads_and_nothing_served() =>
        Assert.Empty(VersionSelection.Serving(targetReady: [], targetFailed: [1], currentlyServing: [], onDisk: [1]));

    [Theory]
    [InlineData("latest", 1, "", "3")]
    [InlineData("latest", 2, "", "2,3")]
    [InlineData("all", 0, "", "1,2,3")]
    [InlineData("specific", 0, "1,3", "1,3")]
    public void The_policy_chooses_the_targets_that_then_serve(string kind, int numVersions, string specific, string expected)
    {
        var policy = ModelConfigReader.Parse(kind switch
        {
            "latest" => $"version_policy {{ latest {{ num_versions: {numVersions} }} }}",
            "all" => "version_policy { all { } }",
            _ => $"version_policy {{ specific {{ versions: [ {specific} ] }} }}",
        }).Config.VersionPolicy;
        var targets = policy.Select([1, 2, 3]);
        var serving = VersionSelection.Serving(targets, [], currentlyServing: [1], onDisk: [1, 2, 3]);
        Assert.Equal(expected.Split(',').Select(long.Parse), serving);
    }
}
