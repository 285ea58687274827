using System.Net;
using System.Text.Json.Nodes;
using InferenceServer.FunctionalTests.Http;

namespace InferenceServer.FunctionalTests.Lifecycle;

/// <summary>Models, requests and waits the lifecycle tests share.</summary>
internal static class Lifecycle
{
    public const string AddSubConfig = """
        backend: "onnxruntime"
        max_batch_size: 4
        input [ { name: "INPUT0" data_type: TYPE_INT32 dims: [ 16 ] }, { name: "INPUT1" data_type: TYPE_INT32 dims: [ 16 ] } ]
        output [ { name: "OUTPUT0" data_type: TYPE_INT32 dims: [ 16 ] }, { name: "OUTPUT1" data_type: TYPE_INT32 dims: [ 16 ] } ]
        """;

    // The non-batching slow model: X [64, 64] squared and squashed ITERATIONS times.
    public const string SlowConfig = """
        backend: "onnxruntime"
        max_batch_size: 0
        input [ { name: "X" data_type: TYPE_FP32 dims: [ 64, 64 ] }, { name: "ITERATIONS" data_type: TYPE_INT64 dims: [ 1 ] } ]
        output [ { name: "Y" data_type: TYPE_FP32 dims: [ 64, 64 ] } ]
        """;

    /// <summary>Poll mode that notices changes quickly: events, a 1 s rescan, a 300 ms quiet interval.</summary>
    public static readonly (string, string)[] FastPoll =
    [
        ("Server:ModelControlMode", "poll"),
        ("Server:RepositoryPollSeconds", "1"),
        ("Server:RepositoryPollQuietMilliseconds", "300"),
    ];

    public static string AddSubRequest(int value = 1) => $$"""
        {"inputs": [
          {"name": "INPUT0", "datatype": "INT32", "shape": [1, 16], "data": [{{string.Join(",", Enumerable.Repeat(value, 16))}}]},
          {"name": "INPUT1", "datatype": "INT32", "shape": [1, 16], "data": [{{string.Join(",", Enumerable.Repeat(1, 16))}}]}]}
        """;

    public static string SlowRequest(long iterations) => $$"""
        {"inputs": [{"name": "X", "datatype": "FP32", "shape": [64, 64], "data": [{{string.Join(",", Enumerable.Repeat("0.01", 64 * 64))}}]},
                    {"name": "ITERATIONS", "datatype": "INT64", "shape": [1], "data": [{{iterations}}]}]}
        """;

    /// <summary>The repository index as "model/version" (or "model/-") → (state, reason).</summary>
    public static async Task<Dictionary<string, (string State, string Reason)>> IndexAsync(HttpClient client)
    {
        var (response, index) = await client.PostJsonAsync("/v2/repository/index", "{}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return index!.AsArray().ToDictionary(
            r => $"{r!["name"]}/{r["version"]?.GetValue<string>() ?? "-"}",
            r => (r!["state"]!.GetValue<string>(), r["reason"]!.GetValue<string>()));
    }

    /// <summary>Waits until the index shows <paramref name="key"/> in <paramref name="state"/>; fails with the index after <paramref name="seconds"/>.</summary>
    public static async Task<(string State, string Reason)> WaitForStateAsync(HttpClient client, string key, string state, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var index = await IndexAsync(client);
            if (index.TryGetValue(key, out var row) && row.State == state)
            {
                return row;
            }
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"{key} did not become {state} within {seconds} s; index: {string.Join("; ", index.Select(p => $"{p.Key} {p.Value.State} {p.Value.Reason}"))}");
            }
            await Task.Delay(50);
        }
    }

    /// <summary>Posts to a repository endpoint; returns the status and the error text, if any.</summary>
    public static async Task<(HttpStatusCode Status, string Error)> RepositoryAsync(HttpClient client, string path, string body = "")
    {
        var (response, json) = await client.PostJsonAsync(path, body);
        return (response.StatusCode, json?["error"]?.GetValue<string>() ?? "");
    }

    /// <summary>Runs add_sub once and returns the version that answered; fails on any other status.</summary>
    public static async Task<string> InferAddSubAsync(HttpClient client, string model, int value = 1)
    {
        var (response, body) = await client.PostJsonAsync($"/v2/models/{model}/infer", AddSubRequest(value));
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {body?.ToJsonString()}");
        var sum = body!["outputs"]!.AsArray().Single(o => o!["name"]!.GetValue<string>() == "OUTPUT0")!;
        Assert.All(sum["data"]!.AsArray(), v => Assert.Equal(value + 1, v!.GetValue<int>()));
        return body["model_version"]!.GetValue<string>();
    }

    public static JsonObject ModelStats(JsonNode stats) => stats["model_stats"]![0]!.AsObject();
}
