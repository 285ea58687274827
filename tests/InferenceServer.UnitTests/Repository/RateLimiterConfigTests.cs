using InferenceServer.Core.Repository;

namespace InferenceServer.UnitTests.Repository;

/// <summary>
/// <c>instance_group[].rate_limiter</c> is read from config.pbtxt and from JSON alike, and what no limiter could act on
/// (a negative count, a resource without a name, one listed twice) fails naming the field.
/// </summary>
public sealed class RateLimiterConfigTests
{
    private const string Group = "instance_group [ { count: 2 kind: KIND_CPU rate_limiter { resources [ { name: \"R1\" count: 2 }, { name: \"G\" global: true count: 1 } ] priority: 2 } } ]";

    [Fact]
    public void TextAndJsonReadTheSameRateLimiter()
    {
        var text = ModelConfigReader.Parse(Group).Config;
        var json = ModelConfigJson.Parse("""
            {"instance_group": [{"count": 2, "kind": "KIND_CPU", "rate_limiter": {"resources": [{"name": "R1", "count": 2}, {"name": "G", "global": true, "count": 1}], "priority": 2}}]}
            """).Config;

        foreach (var config in new[] { text, json })
        {
            var limiter = Assert.Single(config.InstanceGroup).RateLimiter;
            Assert.Equal(2u, limiter.Priority);
            Assert.Equal([("R1", false, 2u), ("G", true, 1u)], limiter.Resources.Select(r => (r.Name, r.Global, r.Count)));
        }
    }

    [Theory]
    [InlineData("rate_limiter { resources [ { name: \"R1\" count: -1 } ] }", "instance_group[0].rate_limiter.resources[0].count", "negative")]
    [InlineData("rate_limiter { resources [ { count: 1 } ] }", "instance_group[0].rate_limiter.resources[0].name", "must specify a non-empty 'name' for the resource")]
    [InlineData("rate_limiter { resources [ { name: \"R1\" count: 1 }, { name: \"R1\" count: 2 } ] }", "instance_group[0].rate_limiter.resources[1].name", "resource 'R1' is listed more than once")]
    [InlineData("rate_limiter { resources [ { name: \"a:b\" count: 1 } ] }", "instance_group[0].rate_limiter.resources[0].name", "must not contain ':'")]
    [InlineData("rate_limiter { priority: -2 }", "instance_group[0].rate_limiter.priority", "negative")]
    public void TextRejectsWhatNoLimiterCouldActOn(string limiter, string path, string reasonPart)
    {
        var error = Assert.Throws<ModelConfigException>(() => ModelConfigReader.Parse($"instance_group [ {{ count: 1 {limiter} }} ]", "models/m/config.pbtxt"));
        Assert.Equal(path, error.FieldPath);
        Assert.Contains(reasonPart, error.Reason);
        Assert.StartsWith("models/m/config.pbtxt:1:", error.Message);
    }

    [Theory]
    [InlineData("""{"resources": [{"name": "R1", "count": -1}]}""", "integer -1 is out of range; expected 0 to 4294967295")]
    [InlineData("""{"resources": [{"name": "", "count": 1}]}""", "must specify a non-empty 'name' for the resource")]
    public void JsonRejectsTheSame(string limiter, string reasonPart)
    {
        var error = Assert.Throws<ModelConfigException>(() => ModelConfigJson.Parse($$"""{"instance_group": [{"count": 1, "rate_limiter": {{limiter}}}]}""", "load parameter 'config'"));
        Assert.Contains(reasonPart, error.Message);
        Assert.Contains("rate_limiter.resources[0]", error.Message);
    }
}
