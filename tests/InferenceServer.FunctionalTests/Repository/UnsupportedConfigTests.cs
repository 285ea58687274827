using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using InferenceServer.FunctionalTests.Http;

namespace InferenceServer.FunctionalTests.Repository;

/// <summary>
/// A config that asks for a feature this server does not implement fails that model's load, naming the feature, instead
/// of serving the model as if the field were not there; a misspelt field is named, with the field it most likely meant,
/// at the end of whatever failure follows from it. Both for config.pbtxt and for the JSON config of the load API.
/// </summary>
public sealed class UnsupportedConfigTests
{
    // The failures are read from a running server, which --exit-on-error (the default) would not leave running.
    private static readonly (string, string) KeepRunning = ("Server:ExitOnError", "false");

    private const string Io = """
        input [ { name: "INPUT0" data_type: TYPE_INT32 dims: [ 16 ] }, { name: "INPUT1" data_type: TYPE_INT32 dims: [ 16 ] } ]
        output [ { name: "OUTPUT0" data_type: TYPE_INT32 dims: [ 16 ] }, { name: "OUTPUT1" data_type: TYPE_INT32 dims: [ 16 ] } ]

        """;

    private const string AddSub = "backend: \"onnxruntime\"\nmax_batch_size: 4\n" + Io;

    private static async Task<Dictionary<string, (string State, string Reason)>> IndexAsync(HttpClient client)
    {
        var (_, index) = await client.PostJsonAsync("/v2/repository/index", "{}");
        return index!.AsArray().ToDictionary(
            r => r!["name"]!.GetValue<string>(),
            r => (r!["state"]!.GetValue<string>(), r["reason"]?.GetValue<string>() ?? ""));
    }

    [Fact]
    public async Task UnsupportedFeaturesFailTheirModelNamingTheFeature()
    {
        using var repository = new TestRepository()
            .AddFixture("stateful", "add_sub.onnx", AddSub + "sequence_batching { max_sequence_idle_microseconds: 5000000 }\n")
            .AddFixture("cached", "add_sub.onnx", AddSub + "response_cache { enable: true }\n")
            .AddFixture("limited", "add_sub.onnx", AddSub + "instance_group [ { count: 1 kind: KIND_CPU rate_limiter { resources [ { name: \"R1\" count: 1 } ] } } ]\n")
            .AddFixture("decoupled", "add_sub.onnx", AddSub + "model_transaction_policy { decoupled: true }\n")
            .AddFixture("pipeline", "add_sub.onnx", "platform: \"ensemble\"\nensemble_scheduling { step [ { model_name: \"fine\" model_version: -1 } ] }\n")
            .AddFixture("cache_off", "add_sub.onnx", AddSub + "response_cache { enable: false }\nmodel_transaction_policy { decoupled: false }\n")
            .AddFixture("fine", "add_sub.onnx", AddSub);
        await using var server = await RunningServer.StartAsync(repository.Path, KeepRunning);

        var index = await IndexAsync(server.Client);
        var expected = new Dictionary<string, string>
        {
            ["stateful"] = "stateful/config.pbtxt:5:1: sequence_batching: stateful models (sequence batching) are not supported by this server",
            ["cached"] = "cached/config.pbtxt:5:1: response_cache: the response cache is not supported by this server; set 'enable: false' or remove it",
            ["decoupled"] = "decoupled/config.pbtxt:5:1: model_transaction_policy: decoupled models (any number of responses per request) are not supported by this server",
            ["pipeline"] = "pipeline/config.pbtxt:1:11: platform: ensemble models are not supported by this server",
        };
        foreach (var (model, reason) in expected)
        {
            Assert.Equal(("UNAVAILABLE", reason), index[model]);
            // Never the server's own path: the reason goes to clients.
            Assert.DoesNotContain(repository.Path, index[model].Reason);
            var (response, body) = await server.Client.GetJsonAsync($"/v2/models/{model}/ready");
            Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        }
        Assert.Equal("READY", index["cache_off"].State);
        // The rate limiter is supported: with --rate-limit off (the default) its resources are accepted and not enforced, as in Triton.
        Assert.Equal("READY", index["limited"].State);
        Assert.Equal("READY", index["fine"].State);
    }

    [Fact]
    public async Task AMisspeltFieldIsNamedWithItsLikelyMeaningAtTheEndOfTheFailure()
    {
        // max_batch_size misspelt: the model is read without a batch dimension, so its [16] inputs disagree with the
        // model's [-1, 16]; that is the failure, and it ends with the real cause.
        using var repository = new TestRepository()
            .AddFixture("typo", "add_sub.onnx", "backend: \"onnxruntime\"\nmax_batchsize: 4\n" + Io);
        await using var server = await RunningServer.StartAsync(repository.Path, KeepRunning);

        var reason = (await IndexAsync(server.Client))["typo"].Reason;
        Assert.EndsWith("; note: typo/config.pbtxt:2:1: unknown field 'max_batchsize' was ignored (did you mean 'max_batch_size'?)", reason);
        Assert.DoesNotContain(repository.Path, reason);
    }

    [Fact]
    public async Task StrictModeRefusesAMisspeltField()
    {
        using var repository = new TestRepository()
            .AddFixture("typo", "add_sub.onnx", AddSub + "instance_group [ { cuont: 2 } ]\n")
            .AddFixture("fine", "add_sub.onnx", AddSub);
        await using var server = await RunningServer.StartAsync(repository.Path, ("Server:StrictModelConfig", "true"), KeepRunning);

        var index = await IndexAsync(server.Client);
        Assert.Equal(
            ("UNAVAILABLE", "typo/config.pbtxt:5:20: unknown field 'instance_group[0].cuont' (did you mean 'count'?); unknown fields are errors with --strict-model-config"),
            index["typo"]);
        Assert.Equal("READY", index["fine"].State);
    }

    [Fact]
    public async Task TheLoadApisJsonConfigIsHeldToTheSameRules()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSub);
        await using var server = await RunningServer.StartAsync(repository.Path, ("Server:ModelControlMode", "explicit"));

        static string Load(object config) => JsonSerializer.Serialize(new { parameters = new { config = JsonSerializer.Serialize(config) } });
        var inputs = new[] { new { name = "INPUT0", data_type = "TYPE_INT32", dims = new[] { 16 } }, new { name = "INPUT1", data_type = "TYPE_INT32", dims = new[] { 16 } } };
        var outputs = new[] { new { name = "OUTPUT0", data_type = "TYPE_INT32", dims = new[] { 16 } }, new { name = "OUTPUT1", data_type = "TYPE_INT32", dims = new[] { 16 } } };

        var (stateful, statefulBody) = await server.Client.PostJsonAsync("/v2/repository/models/m/load",
            Load(new { backend = "onnxruntime", max_batch_size = 4, input = inputs, output = outputs, sequenceBatching = new { } }));
        Assert.Equal(HttpStatusCode.BadRequest, stateful.StatusCode);
        Assert.Contains("sequence_batching: stateful models (sequence batching) are not supported by this server", statefulBody!["error"]!.GetValue<string>());

        var (typo, typoBody) = await server.Client.PostJsonAsync("/v2/repository/models/m/load",
            Load(new { backend = "onnxruntime", maxBatchsize = 4, input = inputs, output = outputs }));
        // The ignored field leaves a config that does not fit the model: the request's own config, so the client's error.
        Assert.Equal(HttpStatusCode.BadRequest, typo.StatusCode);
        Assert.EndsWith("unknown field 'max_batchsize' was ignored (did you mean 'max_batch_size'?)", typoBody!["error"]!.GetValue<string>());
        Assert.Contains("load parameter 'config':1:", typoBody["error"]!.GetValue<string>());
    }
}
