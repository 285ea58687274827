using InferenceServer.FeatureSidecar.Cli;
using InferenceServer.FeatureSidecar.Materialize;
using InferenceServer.FeatureSidecar.Stores;

namespace InferenceServer.UnitTests.FeatureSidecar;

/// <summary>What the sidecar's flags take: store addresses, key patterns with their fields, durations.</summary>
public sealed class SidecarSettingsTests
{
    [Theory]
    [InlineData("redis://cache:6380", "cache:6380")]
    [InlineData("redis://cache", "cache:6379")]
    [InlineData("redis://127.0.0.1:7000/", "127.0.0.1:7000")]
    [InlineData("REDIS://[::1]", "[::1]:6379")]
    public void ARedisAddressNamesItsEndpoint(string text, string endpoint)
    {
        var address = StoreAddress.TryParse(text, out var problem);

        Assert.Null(problem);
        Assert.Equal(endpoint, address!.RedisEndpoint);
        Assert.Null(address.FilePath);
    }

    [Fact]
    public void AFileAddressNamesAFullPath()
    {
        var address = StoreAddress.TryParse("file:store/features.msgpack", out _);

        Assert.Equal(Path.GetFullPath("store/features.msgpack"), address!.FilePath);
    }

    [Theory]
    [InlineData("redis://", "names no Redis host")]
    [InlineData("redis://user:pw@cache", "names no Redis host")]
    [InlineData("redis://cache:99999", "has no valid port")]
    [InlineData("file:", "is not a store address")]
    [InlineData("/var/lib/store", "is not a store address")]
    public void AWrongAddressSaysWhatIsExpected(string text, string expected)
    {
        Assert.Null(StoreAddress.TryParse(text, out var problem));
        Assert.Contains(expected, problem, StringComparison.Ordinal);
        Assert.Contains(StoreAddress.Expected, problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("income:{id}", new[] { "7" }, "income:7")]
    [InlineData("{region}/{id}:v2", new[] { "eu", "7" }, "eu/7:v2")]
    [InlineData("{id}", new[] { "ü 7" }, "ü 7")]
    [InlineData("pair:{a}:{b}:{a}", new[] { "x", "y" }, "pair:x:y:x")]
    public void AKeyPatternFillsInTheEntityValuesInOrder(string pattern, string[] values, string key)
    {
        var view = KeyPatternView.TryCreate("v", pattern, "f", out var problem);

        Assert.Null(problem);
        Assert.Equal(values.Length, view!.EntityKeys.Count);
        Assert.Equal(key, view.StoreKey(values));
    }

    [Theory]
    [InlineData("income:id", "a", "names no entity key")]
    [InlineData("income:{id", "a", "not {name}")]
    [InlineData("income:{}", "a", "not {name}")]
    [InlineData("income:id}", "a", "closes nothing")]
    [InlineData("income:{id}", "a,,b", "an empty field name")]
    [InlineData("income:{id}", "a,id", "which is an entity key")]
    [InlineData("income:{id}", "_stored_at", "reserved for the write time")]
    [InlineData("income:{id}", "a,a", "names a field twice")]
    public void AWrongKeyPatternOrFieldListSaysWhy(string pattern, string fields, string expected)
    {
        Assert.Null(KeyPatternView.TryCreate("v", pattern, fields, out var problem));
        Assert.Contains(expected, problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("90s", 90_000)]
    [InlineData("15m", 900_000)]
    [InlineData("24h", 86_400_000)]
    [InlineData("7d", 604_800_000)]
    public void ADurationHasAUnit(string text, long milliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), Durations.TryParse(text));

    [Theory]
    [InlineData("90")]
    [InlineData("0s")]
    [InlineData("-5s")]
    [InlineData("1.5h")]
    [InlineData("99999999999999999d")]
    public void AWrongDurationIsRefused(string text) => Assert.Null(Durations.TryParse(text));
}
