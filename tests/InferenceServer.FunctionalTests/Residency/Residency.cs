using System.Net;
using System.Text.Json.Nodes;
using InferenceServer.FunctionalTests.Http;

namespace InferenceServer.FunctionalTests.Residency;

/// <summary>Models, settings and requests the on-demand and eviction tests share.</summary>
internal static class Residency
{
    /// <summary>What each test model declares it holds: far above what add_sub's load measures (a few MB), so the charge is exact.</summary>
    public const long Footprint = 100_000_000;

    /// <summary>A budget that holds two test models, not three.</summary>
    public const long TwoModels = 250_000_000;

    /// <summary>add_sub's config declaring <see cref="Footprint"/>, pinned when asked.</summary>
    public static string Config(bool pinned = false, long footprint = Footprint, string baseConfig = Lifecycle.Lifecycle.AddSubConfig) =>
        baseConfig + $$"""
        parameters { key: "memory_footprint_bytes" value { string_value: "{{footprint}}" } }
        """ + (pinned ? """

        parameters { key: "pinned" value { string_value: "true" } }
        """ : "");

    /// <summary>On-demand mode with <paramref name="budget"/> bytes of CPU budget and an anti-thrash window of <paramref name="minIdleSeconds"/>.</summary>
    public static (string, string)[] OnDemand(long? budget = TwoModels, double minIdleSeconds = 0) =>
    [
        ("Server:ModelControlMode", "ondemand"),
        ("Server:ModelMemoryBudget", budget?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? ""),
        ("Server:EvictionMinIdleSeconds", minIdleSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)),
    ];

    /// <summary>Runs add_sub on <paramref name="model"/>; returns the status, the cold-start header (null when absent) and the error text.</summary>
    public static async Task<(HttpStatusCode Status, long? ColdStartMs, string Error, HttpResponseMessage Response)> InferAsync(HttpClient client, string model)
    {
        var (response, body) = await client.PostJsonAsync($"/v2/models/{model}/infer", Lifecycle.Lifecycle.AddSubRequest());
        long? cold = response.Headers.TryGetValues("Inference-Cold-Start-Ms", out var values) ? long.Parse(values.Single(), System.Globalization.CultureInfo.InvariantCulture) : null;
        if (response.StatusCode == HttpStatusCode.OK)
        {
            Assert.Equal(2, body!["outputs"]!.AsArray().Single(o => o!["name"]!.GetValue<string>() == "OUTPUT0")!["data"]![0]!.GetValue<int>());
        }
        return (response.StatusCode, cold, body?["error"]?.GetValue<string>() ?? "", response);
    }

    /// <summary>The index rows of version 1 of each model, by model name.</summary>
    public static async Task<Dictionary<string, JsonObject>> VersionRowsAsync(HttpClient client)
    {
        var (response, index) = await client.PostJsonAsync("/v2/repository/index", "{}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return index!.AsArray().Where(r => r!["version"]?.GetValue<string>() == "1").ToDictionary(r => r!["name"]!.GetValue<string>(), r => r!.AsObject());
    }

    /// <summary>The models whose version 1 is READY, sorted.</summary>
    public static async Task<string> LoadedAsync(HttpClient client) =>
        string.Join(",", (await VersionRowsAsync(client)).Where(p => p.Value["state"]!.GetValue<string>() == "READY").Select(p => p.Key).Order(StringComparer.Ordinal));
}
