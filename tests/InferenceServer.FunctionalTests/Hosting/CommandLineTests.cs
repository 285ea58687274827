using InferenceServer.Cli;

namespace InferenceServer.FunctionalTests.Hosting;

[Collection(ProcessEnvironment.Name)]
public sealed class CommandLineTests
{
    [Fact]
    public void TritonFlagNamesBecomeConfigurationKeys()
    {
        var settings = CommandLine.Parse([
            "--model-repository", "/models", "--http-port=9000", "--grpc-port", "9001", "--metrics-port", "9002",
            "--model-control-mode", "explicit", "--load-model", "a", "--load-model", "b", "--strict-model-config", "--log-verbose", "1",
        ]);

        Assert.Equal("/models", settings["Server:ModelRepository"]);
        Assert.Equal("9000", settings["Http:Port"]);
        Assert.Equal("9001", settings["Grpc:Port"]);
        Assert.Equal("9002", settings["Metrics:Port"]);
        Assert.Equal("explicit", settings["Server:ModelControlMode"]);
        Assert.Equal("a", settings["Server:LoadModels:0"]);
        Assert.Equal("b", settings["Server:LoadModels:1"]);
        Assert.Equal("true", settings["Server:StrictModelConfig"]);
        Assert.Equal("1", settings["Server:LogVerbose"]);
    }

    [Theory]
    [InlineData("--strict-model-config", "false", "false")]
    [InlineData("--strict-model-config=false", null, "false")]
    [InlineData("--strict-model-config", null, "true")]
    public void SwitchesTakeAnOptionalBoolean(string flag, string? value, string expected)
    {
        var settings = CommandLine.Parse(value is null ? [flag] : [flag, value]);
        Assert.Equal(expected, settings["Server:StrictModelConfig"]);
    }

    [Theory]
    [InlineData("--modelrepository", "unknown flag '--modelrepository'")]
    [InlineData("models", "unexpected argument 'models'")]
    [InlineData("--http-port", "flag '--http-port' needs a value")]
    public void BadUsageIsExplained(string arg, string message)
    {
        var error = Assert.Throws<UsageException>(() => CommandLine.Parse([arg]));
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public async Task CommandLineWinsOverEnvironmentAndAppSettings()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx");
        Environment.SetEnvironmentVariable("Server__StrictModelConfig", "true");
        try
        {
            // The environment says strict (so 'm', which has no config, would fail); the command line says not.
            await using var server = await RunningServer.StartAsync(repository.Path, ("Server:StrictModelConfig", "false"));
            Assert.Equal(System.Net.HttpStatusCode.OK, (await server.Client.GetAsync("/v2/models/m/ready")).StatusCode);
        }
        finally
        {
            Environment.SetEnvironmentVariable("Server__StrictModelConfig", null);
        }
    }
}
