using InferenceServer.FeatureSidecar.Cli;
using InferenceServer.FeatureSidecar.Materialize;
using InferenceServer.FeatureSidecar.Stores;

namespace InferenceServer.UnitTests.FeatureSidecar;

/// <summary>
/// What the sidecar's flags take: store addresses (credentials, database, TLS; the password never shown), where the
/// password comes from, key patterns with their fields, durations.
/// </summary>
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

    [Theory]
    [InlineData("redis://app:s3cret@cache:6380/2", "cache:6380", "cache", "app", "s3cret", 2, false, "redis://app:***@cache:6380/2")]
    [InlineData("rediss://:s3cret@10.0.0.5/0", "10.0.0.5:6379", "10.0.0.5", null, "s3cret", 0, true, "rediss://:***@10.0.0.5/0")]
    [InlineData("REDISS://app@[::1]:7000", "[::1]:7000", "::1", "app", null, null, true, "REDISS://app@[::1]:7000")]
    [InlineData("redis://app:p%40ss%2Fw%3A@cache", "cache:6379", "cache", "app", "p@ss/w:", null, false, "redis://app:***@cache")]
    [InlineData("redis://app:p@ss/w@cache/3", "cache:6379", "cache", "app", "p@ss/w", 3, false, "redis://app:***@cache/3")]
    [InlineData("redis://ops%20team@cache/", "cache:6379", "cache", "ops team", null, null, false, "redis://ops%20team@cache/")]
    public void ARedisAddressCarriesItsUserPasswordDatabaseAndTlsAndShowsNoPassword(
        string text, string endpoint, string host, string? user, string? password, int? database, bool tls, string shown)
    {
        var address = StoreAddress.TryParse(text, out var problem);

        Assert.Null(problem);
        Assert.Equal(endpoint, address!.RedisEndpoint);
        Assert.Equal(host, address.RedisHost);
        Assert.Equal(user, address.User);
        Assert.Equal(password, address.Password);
        Assert.Equal(database, address.Database);
        Assert.Equal(tls, address.Tls);
        Assert.Equal(shown, address.Text);
        Assert.Equal(shown, address.ToString());
        Assert.Equal(shown, $"{address}");
    }

    [Fact]
    public void APasswordIsHiddenInWhatIsPrintedOfTheSettingsAndInMessagesFromElsewhere()
    {
        var address = StoreAddress.TryParse("redis://app@cache/1", out _)!.WithConnection("hunter2", "/etc/ca.pem", null, null);
        var settings = new ServeSettings("/run/features.sock", address, null, 8);

        Assert.Equal("hunter2", address.Password);
        Assert.Equal("/etc/ca.pem", address.CaFile);
        Assert.DoesNotContain("hunter2", settings.ToString(), StringComparison.Ordinal);
        Assert.Contains("redis://app@cache/1", settings.ToString(), StringComparison.Ordinal);
        Assert.Equal("ERR *** is not the password of ***", address.Scrub("ERR hunter2 is not the password of hunter2"));
    }

    [Theory]
    [InlineData("redis://app:hunter2@cache:0", "redis://app:***@cache:0", "has no valid port")]
    [InlineData("redis://app:hunter2@cache/x", "redis://app:***@cache/x", "expected a database number")]
    [InlineData("mysql://app:hunter2@db", "mysql://app:***@db", "is not a store address")]
    public void AnAddressThatIsRefusedIsNamedWithoutItsPassword(string text, string shown, string expected)
    {
        Assert.Null(StoreAddress.TryParse(text, out var problem));
        Assert.Contains($"'{shown}'", problem, StringComparison.Ordinal);
        Assert.Contains(expected, problem, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void ThePasswordComesFromTheAddressThenTheFileThenTheEnvironment()
    {
        var folder = Directory.CreateTempSubdirectory("password-").FullName;
        try
        {
            var file = Path.Combine(folder, "password");
            File.WriteAllText(file, "from file\r\n");
            var empty = Path.Combine(folder, "empty");
            File.WriteAllText(empty, "\n");
            var bare = StoreAddress.TryParse("redis://app@cache", out _)!;
            var withPassword = StoreAddress.TryParse("redis://app:in-address@cache", out _)!;

            // The address's own password stays (null: nothing replaces it), whatever the environment says.
            Assert.Null(StoreFlags.ResolvePassword(withPassword, null, "from env", out var problem));
            Assert.Null(problem);
            Assert.Equal("from file", StoreFlags.ResolvePassword(bare, file, "from env", out problem));
            Assert.Equal("from env", StoreFlags.ResolvePassword(bare, null, "from env", out problem));
            Assert.Null(StoreFlags.ResolvePassword(bare, null, "", out problem));
            Assert.Null(problem);
            Assert.Null(StoreFlags.ResolvePassword(bare, empty, "from env", out problem));
            Assert.Equal($"--store-password-file {empty} is empty; expected the Redis password", problem);
            Assert.Null(StoreFlags.ResolvePassword(bare, Path.Combine(folder, "missing"), null, out problem));
            Assert.StartsWith($"cannot read --store-password-file {Path.Combine(folder, "missing")}: ", problem, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void AFileAddressNamesAFullPath()
    {
        var address = StoreAddress.TryParse("file:store/features.msgpack", out _);

        Assert.Equal(Path.GetFullPath("store/features.msgpack"), address!.FilePath);
    }

    [Fact]
    public void ARedisUnixSocketAddressNamesTheSocketByItsFullPath()
    {
        var absolute = StoreAddress.TryParse("redis+unix:/run/redis/redis.sock", out var problem);
        var relative = StoreAddress.TryParse("REDIS+UNIX:redis.sock", out _);

        Assert.Null(problem);
        Assert.True(absolute!.IsRedis);
        Assert.True(absolute.UnixSocket);
        Assert.Equal("/run/redis/redis.sock", absolute.RedisEndpoint);
        Assert.Equal("redis+unix:/run/redis/redis.sock", absolute.Text);
        Assert.False(absolute.Tls);
        Assert.Null(absolute.Password);
        Assert.Equal(Path.GetFullPath("redis.sock"), relative!.RedisEndpoint);
        // The password from the flags beside --store, as for a TCP address.
        var withPassword = absolute.WithConnection("hunter2", null, null, null);
        Assert.True(withPassword.UnixSocket);
        Assert.Equal("hunter2", withPassword.Password);
        Assert.False(StoreAddress.TryParse("redis://cache", out _)!.UnixSocket);
    }

    [Theory]
    [InlineData("redis+unix:", "names no socket path")]
    [InlineData("redis+unix:app:s3cret@/run/redis.sock", "carries no user or password")]
    public void AWrongUnixSocketAddressSaysWhatIsExpectedAndShowsNoPassword(string text, string expected)
    {
        Assert.Null(StoreAddress.TryParse(text, out var problem));
        Assert.Contains(expected, problem, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("redis://", "names no Redis host")]
    [InlineData("rediss://app@", "names no Redis host")]
    [InlineData("redis://@cache", "neither a user nor a password")]
    [InlineData("redis://app:@cache", "an empty password")]
    [InlineData("redis://[::1:6379", "without its closing ']'")]
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
