using InferenceServer.Core.Repository;

namespace InferenceServer.UnitTests.Repository;

public sealed class VersionPolicyTests
{
    private static readonly long[] OnDisk = [3, 1, 10, 2];

    [Fact]
    public void Default_serves_the_highest_version()
    {
        Assert.Equal([10L], VersionPolicy.Default.Select(OnDisk));
    }

    [Fact]
    public void Latest_serves_the_highest_n_in_ascending_order()
    {
        var policy = new VersionPolicy { Kind = VersionPolicyKind.Latest, NumVersions = 2 };
        Assert.Equal([3L, 10], policy.Select(OnDisk));
    }

    [Fact]
    public void Latest_with_more_than_available_serves_all()
    {
        var policy = new VersionPolicy { Kind = VersionPolicyKind.Latest, NumVersions = 9 };
        Assert.Equal([1L, 2, 3, 10], policy.Select(OnDisk));
    }

    [Fact]
    public void All_serves_every_version_sorted()
    {
        Assert.Equal([1L, 2, 3, 10], new VersionPolicy { Kind = VersionPolicyKind.All }.Select(OnDisk));
    }

    [Fact]
    public void Specific_serves_only_listed_versions_that_exist()
    {
        var policy = new VersionPolicy { Kind = VersionPolicyKind.Specific, Versions = [10, 4, 1] };
        Assert.Equal([1L, 10], policy.Select(OnDisk));
    }

    [Fact]
    public void Nothing_on_disk_selects_nothing()
    {
        Assert.Empty(VersionPolicy.Default.Select([]));
        Assert.Empty(new VersionPolicy { Kind = VersionPolicyKind.All }.Select([]));
    }

    [Fact]
    public void Policies_read_from_config_select_as_written()
    {
        Assert.Equal([2L, 3, 10], ModelConfigReader.Parse("version_policy { latest { num_versions: 3 } }").Config.VersionPolicy.Select(OnDisk));
        Assert.Equal([1L, 2, 3, 10], ModelConfigReader.Parse("version_policy { all { } }").Config.VersionPolicy.Select(OnDisk));
        Assert.Equal([2L], ModelConfigReader.Parse("version_policy { specific { versions: 2 } }").Config.VersionPolicy.Select(OnDisk));
    }
}
