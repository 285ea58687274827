using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Grpc.Core;
using InferenceServer.FunctionalTests.Http;
using InferenceServer.Protocols.Grpc.Messages;
using Xunit.Abstractions;

namespace InferenceServer.FunctionalTests.SampleModels;

/// <summary>
/// The models a route puts beside <c>income</c>, as ONNX Runtime serves them over REST and gRPC: the sample
/// <c>income_gbt</c> takes income's requests unchanged and decides its examples alike, and the two faulty canaries of
/// tests/fixtures/onnx answer as income does except for their fault: <c>income_faulty</c> fails a request marked by a
/// first feature of 1000 or more, as the model's own fault (not the request's), and <c>income_slow</c> only takes longer.
/// </summary>
public sealed class IncomeVariantsTests(ITestOutputHelper output)
{
    private const int Features = 58;
    private const float Marker = 1000f;

    private static readonly string Example = File.ReadAllText(Path.Combine(RepositoryPaths.Models, "income", "example_request.json"));

    // income: version 1 the sample, 2 the failing canary, 3 the slow one; income_gbt beside it.
    private static TestRepository Repository()
    {
        var repository = new TestRepository().AddSample("income").AddSample("income_gbt");
        repository.AddVersion("income", 2, TestRepository.Fixture("income_faulty.onnx"));
        repository.AddVersion("income", 3, TestRepository.Fixture("income_slow.onnx"));
        File.AppendAllText(Path.Combine(repository.Path, "income", "config.pbtxt"), "version_policy: { all: {} }\n");
        return repository;
    }

    private static float[] ExampleFeatures() =>
        [.. JsonNode.Parse(Example)!["inputs"]![0]!["data"]!.AsArray().Select(v => v!.GetValue<float>())];

    private static string RestRequest(float[] features) =>
        $$"""{"inputs": [{"name": "features", "datatype": "FP32", "shape": [{{features.Length / Features}}, {{Features}}], "data": [{{string.Join(',', features.Select(f => f.ToString("R", CultureInfo.InvariantCulture)))}}]}]}""";

    private static ModelInferRequest GrpcRequest(string model, string version, float[] features)
    {
        var request = new ModelInferRequest { ModelName = model, ModelVersion = version };
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "features", Datatype = "FP32", Shape = { features.Length / Features, Features } });
        request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes(features.AsSpan())));
        return request;
    }

    private static float[] Marked(float[] features)
    {
        var marked = (float[])features.Clone();
        marked[Features] = Marker; // the second record's first feature
        return marked;
    }

    private static async Task<JsonNode> RestOutputAsync(HttpClient client, string path, string body)
    {
        var (response, json) = await client.PostJsonAsync(path, body);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {json?.ToJsonString()}");
        var probability = Assert.Single(json!["outputs"]!.AsArray())!;
        Assert.Equal("probability", probability["name"]!.GetValue<string>());
        Assert.Equal("[2,1]", probability["shape"]!.ToJsonString());
        return probability["data"]!;
    }

    [Fact]
    public async Task Income_gbt_takes_income_s_requests_and_decides_its_examples_alike()
    {
        using var repository = Repository();
        await using var server = await RunningServer.StartAsync(repository.Path);

        var (_, income) = await server.Client.GetJsonAsync("/v2/models/income");
        var (_, gbt) = await server.Client.GetJsonAsync("/v2/models/income_gbt");
        Assert.Equal(income!["inputs"]!.ToJsonString(), gbt!["inputs"]!.ToJsonString());
        Assert.Equal(income["outputs"]!.ToJsonString(), gbt["outputs"]!.ToJsonString());
        var (_, incomeConfig) = await server.Client.GetJsonAsync("/v2/models/income/config");
        var (_, gbtConfig) = await server.Client.GetJsonAsync("/v2/models/income_gbt/config");
        Assert.Equal(256, incomeConfig!["max_batch_size"]!.GetValue<int>());
        Assert.Equal(256, gbtConfig!["max_batch_size"]!.GetValue<int>());

        // The examples: a 52-year-old married executive with a capital gain, and a 23-year-old in service work.
        foreach (var model in new[] { "income", "income_gbt" })
        {
            var probabilities = (await RestOutputAsync(server.Client, $"/v2/models/{model}/infer", Example)).AsArray().Select(p => p!.GetValue<float>()).ToArray();
            output.WriteLine($"{model}: {string.Join(", ", probabilities)}");
            Assert.True(probabilities[0] > 0.7f && probabilities[1] < 0.1f, $"{model}: {string.Join(", ", probabilities)}");
        }

        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var rest = (await RestOutputAsync(server.Client, "/v2/models/income_gbt/infer", Example)).AsArray().Select(p => p!.GetValue<float>());
        var grpc = await client.ModelInferAsync(GrpcRequest("income_gbt", "", ExampleFeatures()));
        Assert.Equal("income_gbt", grpc.ModelName);
        Assert.Equal(rest, MemoryMarshal.Cast<byte, float>(grpc.RawOutputContents[0].Span).ToArray());
    }

    [Fact]
    public async Task The_canaries_answer_an_unmarked_request_bit_for_bit_as_income()
    {
        using var repository = Repository();
        await using var server = await RunningServer.StartAsync(repository.Path);
        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);

        var income = (await RestOutputAsync(server.Client, "/v2/models/income/versions/1/infer", Example)).ToJsonString();
        var incomeRaw = (await client.ModelInferAsync(GrpcRequest("income", "1", ExampleFeatures()))).RawOutputContents[0];
        foreach (var version in new[] { "2", "3" })
        {
            Assert.Equal(income, (await RestOutputAsync(server.Client, $"/v2/models/income/versions/{version}/infer", Example)).ToJsonString());
            var grpc = await client.ModelInferAsync(GrpcRequest("income", version, ExampleFeatures()));
            Assert.Equal(version, grpc.ModelVersion);
            Assert.Equal(incomeRaw, grpc.RawOutputContents[0]);
        }

        // What the slow canary costs on this machine, for the record (no bound: timings here are noise).
        foreach (var version in new[] { "1", "3" })
        {
            var times = new List<double>();
            for (var i = 0; i < 7; i++)
            {
                var started = Stopwatch.GetTimestamp();
                await client.ModelInferAsync(GrpcRequest("income", version, ExampleFeatures()));
                times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
            times.Sort();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"income version {version}: median {times[3]:F2} ms over gRPC"));
        }
    }

    [Fact]
    public async Task The_failing_canary_fails_a_marked_request_as_its_own_fault_and_the_others_answer_it()
    {
        using var repository = Repository();
        await using var server = await RunningServer.StartAsync(repository.Path);
        var marked = Marked(ExampleFeatures());

        var (failed, error) = await server.Client.PostJsonAsync("/v2/models/income/versions/2/infer", RestRequest(marked));
        // The model's fault, so the server's: 500, and the details stay in the server's log.
        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        Assert.StartsWith("internal error", error!["error"]!.GetValue<string>());
        foreach (var path in new[] { "/v2/models/income/versions/1/infer", "/v2/models/income/versions/3/infer", "/v2/models/income_gbt/infer" })
        {
            await RestOutputAsync(server.Client, path, RestRequest(marked));
        }
        // The same values without the marker: answered.
        await RestOutputAsync(server.Client, "/v2/models/income/versions/2/infer", RestRequest(ExampleFeatures()));

        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var rpc = await Assert.ThrowsAsync<RpcException>(async () => await client.ModelInferAsync(GrpcRequest("income", "2", marked)));
        Assert.Equal(StatusCode.Internal, rpc.StatusCode);
        Assert.StartsWith("internal error", rpc.Status.Detail);
        Assert.Equal("1", (await client.ModelInferAsync(GrpcRequest("income", "1", marked))).ModelVersion);
    }
}
