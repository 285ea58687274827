using InferenceServer.Core.Repository;

namespace InferenceServer.UnitTests.Repository;

public sealed class VersionPolicyTests
{
    private static readonly long[] OnDisk = [3, 1, 10, 2];

    private static ModelVersionPolicy Latest(uint n) => new() { Latest = new() { NumVersions = n } };

    private static ModelVersionPolicy All() => new() { All = new() };

    private static ModelVersionPolicy Specific(params long[] versions)
    {
        var policy = new ModelVersionPolicy { Specific = new() };
        policy.Specific.Versions.Add(versions);
        return policy;
    }

    [Fact]
    public void Default_serves_the_highest_version()
    {
        Assert.Equal([10L], Latest(1).Select(OnDisk));
        // No policy, or one that names no form, is Triton's default.
        Assert.Equal([10L], ((ModelVersionPolicy?)null).Select(OnDisk));
        Assert.Equal([10L], new ModelVersionPolicy().Select(OnDisk));
    }

    [Fact]
    public void Latest_serves_the_highest_n_in_ascending_order()
    {
        Assert.Equal([3L, 10], Latest(2).Select(OnDisk));
    }

    [Fact]
    public void Latest_with_more_than_available_serves_all()
    {
        Assert.Equal([1L, 2, 3, 10], Latest(9).Select(OnDisk));
    }

    [Fact]
    public void All_serves_every_version_sorted()
    {
        Assert.Equal([1L, 2, 3, 10], All().Select(OnDisk));
    }

    [Fact]
    public void Specific_serves_only_listed_versions_that_exist()
    {
        Assert.Equal([1L, 10], Specific(10, 4, 1).Select(OnDisk));
    }

    [Fact]
    public void Nothing_on_disk_selects_nothing()
    {
        Assert.Empty(Latest(1).Select([]));
        Assert.Empty(All().Select([]));
    }

    [Fact]
    public void Policies_read_from_config_select_as_written()
    {
        Assert.Equal([2L, 3, 10], ModelConfigReader.Parse("version_policy { latest { num_versions: 3 } }").Config.VersionPolicy.Select(OnDisk));
        Assert.Equal([1L, 2, 3, 10], ModelConfigReader.Parse("version_policy { all { } }").Config.VersionPolicy.Select(OnDisk));
        Assert.Equal([2L], ModelConfigReader.Parse("version_policy { specific { versions: 2 } }").Config.VersionPolicy.Select(OnDisk));
        Assert.Equal([10L], ModelConfigReader.Parse("").Config.VersionPolicy.Select(OnDisk));
    }
}
