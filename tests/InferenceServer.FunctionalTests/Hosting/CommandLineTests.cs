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

        Assert.Equal("/models", settings["Server:ModelRepository:0"]);
        Assert.Equal("9000", settings["Http:Port"]);
        Assert.Equal("9001", settings["Grpc:Port"]);
        Assert.Equal("9002", settings["Metrics:Port"]);
        Assert.Equal("explicit", settings["Server:ModelControlMode"]);
        Assert.Equal("a", settings["Server:LoadModels:0"]);
        Assert.Equal("b", settings["Server:LoadModels:1"]);
        Assert.Equal("true", settings["Server:StrictModelConfig"]);
        Assert.Equal("1", settings["Logging:Verbose"]);
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
    [InlineData("--modelrepository", "unknown flag '--modelrepository' (see inference-server serve --help)")]
    [InlineData("models", "unexpected argument 'models'")]
    [InlineData("--http-port", "flag '--http-port' needs a value")]
    public void BadUsageIsExplained(string arg, string message)
    {
        var error = Assert.Throws<UsageException>(() => CommandLine.Parse([arg]));
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void TheNewTritonFlagsBecomeConfigurationKeys()
    {
        var settings = CommandLine.Parse([
            "--strict-readiness=false", "--exit-on-error", "off", "--exit-timeout-secs", "5", "--id", "triton",
            "--allow-http", "0", "--allow-metrics=FALSE", "--metrics-address", "127.0.0.1", "--log-info", "false", "--log-warning=on",
            "--log-error", "1", "--log-format", "iso8601", "--log-file", "/tmp/server.log", "--log-access",
            "--grpc-response-compression", "none",
        ]);

        Assert.Equal("false", settings["Server:StrictReadiness"]);
        Assert.Equal("false", settings["Server:ExitOnError"]);
        Assert.Equal("5", settings["Server:ShutdownTimeoutSeconds"]);
        Assert.Equal("triton", settings["Server:Id"]);
        Assert.Equal("false", settings["Http:Enabled"]);
        Assert.Equal("false", settings["Metrics:Enabled"]);
        Assert.Equal("127.0.0.1", settings["Metrics:Address"]);
        Assert.Equal("false", settings["Logging:Info"]);
        Assert.Equal("true", settings["Logging:Warning"]);
        Assert.Equal("true", settings["Logging:Error"]);
        Assert.Equal("ISO8601", settings["Logging:Format"]);
        Assert.Equal("/tmp/server.log", settings["Logging:File"]);
        Assert.Equal("true", settings["Logging:AccessLog"]);
        // "none" is the absence of compression: the key is set, empty.
        Assert.Equal("", settings["Grpc:ResponseCompression"]);
    }

    [Fact]
    public void FlagsNotGivenSetNoKeySoTheEnvironmentAndAppSettingsStillApply()
    {
        Assert.Empty(CommandLine.Parse([]));
        Assert.Equal(["Http:Port"], CommandLine.Parse(["--http-port", "9000"]).Keys);
    }

    [Fact]
    public void RepositoriesAndLoadModelsRepeat()
    {
        var settings = CommandLine.Parse(["--model-repository", "/a", "--model-store=/b", "--load-model", "*"]);
        Assert.Equal("/a", settings["Server:ModelRepository:0"]);
        Assert.Equal("/b", settings["Server:ModelRepository:1"]);
        Assert.Equal("*", settings["Server:LoadModels:0"]);
    }

    [Theory]
    [InlineData("--log-verbose", "true", "1")]
    [InlineData("--log-verbose", "off", "0")]
    [InlineData("--log-verbose", "2", "2")]
    public void LogVerboseTakesALevelOrABooleanAsTriton(string flag, string value, string expected) =>
        Assert.Equal(expected, CommandLine.Parse([flag, value])["Logging:Verbose"]);

    [Theory]
    [InlineData("--strict-readiness", "maybe", "--strict-readiness: 'maybe' is not valid; expected true or false (also on/off, 1/0)")]
    [InlineData("--http-port", "http", "--http-port: 'http' is not valid; expected a whole number from 0 to 65535")]
    [InlineData("--http-port", "70000", "--http-port: '70000' is not valid; expected a whole number from 0 to 65535")]
    [InlineData("--model-control-mode", "auto", "--model-control-mode: 'auto' is not valid; expected none, poll, explicit or on-demand")]
    [InlineData("--log-format", "json", "--log-format: 'json' is not valid; expected default or ISO8601")]
    [InlineData("--http-address", "my-host", "--http-address: 'my-host' is not valid; expected an IP address (e.g. 0.0.0.0, 127.0.0.1, ::) or localhost")]
    [InlineData("--model-load-thread-count", "0", "--model-load-thread-count: '0' is not valid; expected a whole number from 1 to 1024")]
    [InlineData("--repository-poll-secs", "soon", "--repository-poll-secs: 'soon' is not valid; expected a number of at least 0")]
    [InlineData("--log-verbose", "loud", "--log-verbose: 'loud' is not valid; expected a level of 0 or more (0 is off), or true or false")]
    [InlineData("--rate-limit", "always", "--rate-limit: 'always' is not valid; expected off or execution_count")]
    public void ABadValueIsOneLineNamingTheFlagAndTheValidValues(string flag, string value, string message)
    {
        var error = Assert.Throws<UsageException>(() => CommandLine.Parse([flag, value]));
        Assert.Equal(message, error.Message);
        Assert.DoesNotContain("System.", error.Message);
    }

    [Theory]
    [InlineData("--backend-directory", "--backend-directory is a Triton flag for backend shared libraries, which is not supported")]
    [InlineData("--cache-config=local,size=1048576", "--cache-config is a Triton flag for the response cache, which is not supported")]
    [InlineData("--pinned-memory-pool-byte-size", "--pinned-memory-pool-byte-size is a Triton flag for a pinned memory pool, which is not supported")]
    [InlineData("--grpc-infer-response-compression-level", "--grpc-infer-response-compression-level is a Triton flag for gRPC response compression levels, which is not supported; use --grpc-response-compression gzip")]
    public void TritonFlagsThisServerLacksAreNamedAsNotSupported(string arg, string message)
    {
        var error = Assert.Throws<UsageException>(() => CommandLine.Parse([arg, "x"]));
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void StarIsTheOnlyLoadModelWhenGiven()
    {
        var error = Assert.Throws<UsageException>(() => CommandLine.Parse(["--load-model", "*", "--load-model", "income"]));
        Assert.Equal("--load-model: '*' loads every model and cannot be given with other names", error.Message);
    }

    [Fact]
    public void AFlagGivenTwiceIsAnError()
    {
        var error = Assert.Throws<UsageException>(() => CommandLine.Parse(["--http-port", "1", "--http-port", "2"]));
        Assert.Equal("flag '--http-port' is given more than once", error.Message);
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
