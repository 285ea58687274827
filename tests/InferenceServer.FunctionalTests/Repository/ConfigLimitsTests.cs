using System.Net;
using static InferenceServer.FunctionalTests.Lifecycle.Lifecycle;
using static InferenceServer.FunctionalTests.Repository.RepositoryApi;

namespace InferenceServer.FunctionalTests.Repository;

/// <summary>
/// A config cannot make the server spend without bound: instance counts, warm-up counts and warm-up sizes past the
/// server's limits are refused before anything is created, naming the field and the flag that sets the limit.
/// </summary>
public sealed class ConfigLimitsTests
{
    private static async Task<(HttpStatusCode Status, string Error)> LoadAsync(RunningServer server, string config)
    {
        // A load that hangs fails the test here instead of holding up the run.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var response = await server.Client.PostAsync("/v2/repository/models/m/load",
            new StringContent(LoadBody(config, []), System.Text.Encoding.UTF8, "application/json"), timeout.Token);
        var body = await response.Content.ReadAsStringAsync(timeout.Token);
        return (response.StatusCode, body.Length == 0 ? "" : System.Text.Json.Nodes.JsonNode.Parse(body)!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnInstanceCountPastTheLimitIsRefusedNamingTheField()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, Explicit, ("Server:ModelMaxInstances", "3"));

        var (status, error) = await LoadAsync(server, AddSubJson(""", "instance_group": [{"count": 2147483647, "kind": "KIND_CPU"}]"""));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("instance_group[0].count", error);
        Assert.Contains("--model-max-instances", error);

        (status, error) = await LoadAsync(server, AddSubJson(""", "instance_group": [{"count": 2, "kind": "KIND_CPU"}, {"count": 2, "kind": "KIND_CPU"}]"""));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("instance_group: the groups ask for 4 instances", error);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.GetAsync("/v2/models/m/ready")).StatusCode);

        Assert.Equal((HttpStatusCode.OK, ""), await LoadAsync(server, AddSubJson(""", "instance_group": [{"count": 3, "kind": "KIND_CPU"}]""")));
        Assert.Equal("1", await InferAddSubAsync(server.Client, "m"));

        // The repository's own config.pbtxt is held to the same limit; what serves keeps serving.
        await File.WriteAllTextAsync(Path.Combine(repository.Path, "m", "config.pbtxt"), AddSubConfig + "\ninstance_group [ { count: 2147483647 kind: KIND_CPU } ]\n");
        (status, error) = await RepositoryAsync(server.Client, "/v2/repository/models/m/load");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("m/config.pbtxt:5", error);
        Assert.Contains("instance_group[0].count", error);
        Assert.Equal("1", await InferAddSubAsync(server.Client, "m"));
    }

    [Fact]
    public async Task AWarmupCountPastTheLimitIsRefusedNamingTheField()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, Explicit);

        var (status, error) = await LoadAsync(server, AddSubJson("""
            , "model_warmup": [{"name": "many", "count": 100000000, "inputs": {
                "INPUT0": {"data_type": "TYPE_INT32", "dims": [16], "zero_data": true},
                "INPUT1": {"data_type": "TYPE_INT32", "dims": [16], "zero_data": true}}}]
            """));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("model_warmup[0].count", error);
        Assert.Contains("--model-warmup-max-count", error);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.GetAsync("/v2/models/m/ready")).StatusCode);
    }

    [Theory]
    // 4 GiB per sample: past 32-bit sizes (the load failed with a 500 for it).
    [InlineData("[1073741824]", 4, 67108864)]
    // Past 64 bits.
    [InlineData("[1000000000, 1000000000, 1000000000]", 1, 67108864)]
    // 4 x 16 x 4 bytes, past a limit set low.
    [InlineData("[16]", 4, 100)]
    public async Task AWarmupSizePastTheLimitIsRefusedNamingTheField(string dims, int batch, long limit)
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, Explicit,
            ("Server:ModelWarmupMaxBytes", limit.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        var (status, error) = await LoadAsync(server, AddSubJson($$$$"""
            , "model_warmup": [{"name": "big", "batch_size": {{{{batch}}}}, "inputs": {
                "INPUT0": {"data_type": "TYPE_INT32", "dims": {{{{dims}}}}, "zero_data": true},
                "INPUT1": {"data_type": "TYPE_INT32", "dims": [16], "zero_data": true}}}]
            """));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("model_warmup[0].inputs[0].value.dims", error);
        Assert.Contains("--model-warmup-max-bytes", error);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.GetAsync("/v2/models/m/ready")).StatusCode);
    }

    // ONNX Runtime makes every thread a config asks for when the session is made: 99999999 held the load (and the
    // model's lock) past the config fuzz target's 10 s instead of being refused at once.
    [Fact]
    public async Task AThreadCountPastTheBoundIsRefusedNamingTheParameter()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, Explicit);

        var (status, error) = await LoadAsync(server, AddSubJson(""", "parameters": {"intra_op_thread_count": {"string_value": "99999999"}}"""));

        // The backend refuses its parameters as it loads; the config came with the load, so it is the client's error.
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("'intra_op_thread_count' has value '99999999'", error);
        Assert.NotEqual(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/models/m/ready")).StatusCode);
        Assert.Equal((HttpStatusCode.OK, ""), await LoadAsync(server, AddSubJson(""", "parameters": {"intra_op_thread_count": {"string_value": "2"}}""")));
        Assert.Equal("1", await InferAddSubAsync(server.Client, "m"));
    }

    // An unpaired surrogate escape, in the load body's config string or in the config's own JSON, was a 500: the JSON
    // reader checks a string's text only when it decodes it, and reports it as InvalidOperationException.
    [Fact]
    public async Task TextThatIsNotUtf8InALoadIsRefusedNamingWhere()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, Explicit);

        var (status, error) = await LoadAsync(server, AddSubJson(""", "parameters": {"k": {"string_value": "\ud800"}}"""));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("parameters[0].value.string_value: has a string that is not valid UTF-8", error);

        (status, error) = await RepositoryAsync(server.Client, "/v2/repository/models/m/load", """{"parameters": {"config": "{\"name\": \"m\ud800\"}"}}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("load parameter 'config' is not valid UTF-8", error);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.GetAsync("/v2/models/m/ready")).StatusCode);
    }
}
