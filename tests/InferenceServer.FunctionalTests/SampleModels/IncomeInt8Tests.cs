using System.Net;
using System.Text.Json.Nodes;
using InferenceServer.FunctionalTests.Http;
using Xunit.Abstractions;

namespace InferenceServer.FunctionalTests.SampleModels;

/// <summary>
/// The sample <c>income_int8</c>: income's model file with a config that asks for an int8-dynamic variant, gated on the
/// labelled held-out records beside it. Served as the repository has it, the server makes the variant at load, the gate
/// passes, and the model answers as int8-dynamic with income's decisions on its examples.
/// </summary>
public sealed class IncomeInt8Tests(ITestOutputHelper output)
{
    private static readonly string Example = File.ReadAllText(Path.Combine(RepositoryPaths.Models, "income", "example_request.json"));

    [Fact]
    public async Task Income_int8_serves_its_gated_int8_variant_and_decides_income_s_examples_alike()
    {
        using var repository = new TestRepository().AddSample("income").AddSample("income_int8");
        await using var server = await RunningServer.StartAsync(repository.Path);

        var (_, metadata) = await server.Client.GetJsonAsync("/v2/models/income_int8");
        output.WriteLine(metadata!.ToJsonString());
        Assert.Equal("int8-dynamic", metadata["precision"]?.GetValue<string>());
        Assert.True(File.Exists(Path.Combine(repository.Path, "income_int8", "eval.jsonl")));
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(repository.Path, "income_int8", ".quantized"), "*", SearchOption.AllDirectories));

        var fp32 = await ProbabilitiesAsync(server.Client, "income");
        var int8 = await ProbabilitiesAsync(server.Client, "income_int8");
        output.WriteLine($"income: {string.Join(", ", fp32)}; income_int8: {string.Join(", ", int8)}");
        for (var i = 0; i < fp32.Length; i++)
        {
            Assert.Equal(fp32[i] >= 0.5f, int8[i] >= 0.5f);
            // The gate's limit in the sample's config; on these two records the error is far smaller.
            Assert.InRange(Math.Abs(fp32[i] - int8[i]), 0f, 0.05f);
        }
        // Not the FP32 file under another name: int8 rounding moves the outputs.
        Assert.NotEqual(fp32, int8);
    }

    private static async Task<float[]> ProbabilitiesAsync(HttpClient client, string model)
    {
        var (response, json) = await client.PostJsonAsync($"/v2/models/{model}/infer", Example);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{model}: {(int)response.StatusCode} {json?.ToJsonString()}");
        return [.. Assert.Single(json!["outputs"]!.AsArray())!["data"]!.AsArray().Select(p => p!.GetValue<float>())];
    }
}
