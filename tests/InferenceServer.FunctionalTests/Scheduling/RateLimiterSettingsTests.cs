using InferenceServer.FunctionalTests.Http;
using InferenceServer.Hosting;

namespace InferenceServer.FunctionalTests.Scheduling;

/// <summary>
/// What the rate limiter is told is checked where it is told: a bad flag before anything starts, and a model whose
/// instances could never run under the totals fails its own load, naming the resource, while the others serve.
/// </summary>
public sealed class RateLimiterSettingsTests
{
    private static string Config(uint count, bool global = false) => $$"""
        backend: "onnxruntime"
        max_batch_size: 0
        input [ { name: "X" data_type: TYPE_FP32 dims: [ 64, 64 ] }, { name: "ITERATIONS" data_type: TYPE_INT64 dims: [ 1 ] } ]
        output [ { name: "Y" data_type: TYPE_FP32 dims: [ 64, 64 ] } ]
        instance_group [ { count: 1 kind: KIND_CPU rate_limiter { resources [ { name: "R" count: {{count}} global: {{(global ? "true" : "false")}} } ] } } ]
        """;

    [Theory]
    [InlineData("Server:RateLimit", "sometimes", "Server:RateLimit 'sometimes' is not valid; expected off or execution_count")]
    [InlineData("Server:RateLimitResources:0", "R", "--rate-limit-resource 'R' is not valid: expected <name>:<count> or <name>:<count>:<device>")]
    [InlineData("Server:RateLimitResources:0", "R:many", "--rate-limit-resource 'R:many' is not valid: the count 'many' is not a whole number from 0 to 2147483647")]
    public void BadSettingsStopTheServerBeforeAnythingStarts(string key, string value, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => ServerHost.Create(new Dictionary<string, string?> { [key] = value }, RepositoryPaths.Root));
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public async Task AModelThatCouldNeverRunFailsItsLoadNamingTheResource()
    {
        using var repository = new TestRepository()
            .AddFixture("fits", "slow.onnx", Config(1))
            .AddFixture("greedy", "slow.onnx", Config(3));
        await using var server = await RunningServer.StartAsync(repository.Path,
            ("Server:ExitOnError", "false"), ("Server:RateLimit", "execution_count"), ("Server:RateLimitResources:0", "R:2"));

        var (_, index) = await server.Client.PostJsonAsync("/v2/repository/index", "{}");
        var states = index!.AsArray().ToDictionary(m => m!["name"]!.GetValue<string>(), m => (m!["state"]!.GetValue<string>(), m["reason"]?.GetValue<string>() ?? ""));
        Assert.Equal("READY", states["fits"].Item1);
        Assert.Equal(("UNAVAILABLE", "rate limiter resource 'R' on device 0 is limited to 2 by --rate-limit-resource, but an instance asks for 3: it could never run; "
            + "give the resource at least 3 copies or lower the instance group's count of it"), states["greedy"]);
    }
}
