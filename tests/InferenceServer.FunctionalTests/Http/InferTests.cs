using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace InferenceServer.FunctionalTests.Http;

public sealed class InferTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _client = server.Client;

    private static string SimpleRequest(string extra = "") => $$"""
        {
          "id": "req-7",
          "inputs": [
            {"name": "INPUT0", "datatype": "INT32", "shape": [1, 16], "data": [{{string.Join(",", Enumerable.Range(0, 16))}}]},
            {"name": "INPUT1", "datatype": "INT32", "shape": [1, 16], "data": [[{{string.Join(",", Enumerable.Repeat(1, 16))}}]]}
          ]{{extra}}
        }
        """;

    [Fact]
    public async Task SimpleOverJsonReturnsSumAndDifferenceAndEchoesTheId()
    {
        var (response, body) = await _client.PostJsonAsync("/v2/models/simple/infer", SimpleRequest());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("simple", body!["model_name"]!.GetValue<string>());
        Assert.Equal("1", body["model_version"]!.GetValue<string>());
        Assert.Equal("req-7", body["id"]!.GetValue<string>());
        var outputs = body["outputs"]!.AsArray().ToDictionary(o => o!["name"]!.GetValue<string>(), o => o!);
        Assert.Equal(Enumerable.Range(1, 16), outputs["OUTPUT0"]["data"]!.AsArray().Select(v => v!.GetValue<int>()));
        Assert.Equal(Enumerable.Range(-1, 16), outputs["OUTPUT1"]["data"]!.AsArray().Select(v => v!.GetValue<int>()));
        Assert.Equal([1L, 16L], outputs["OUTPUT0"]["shape"]!.AsArray().Select(d => d!.GetValue<long>()));
        Assert.Equal("INT32", outputs["OUTPUT0"]["datatype"]!.GetValue<string>());
    }

    [Fact]
    public async Task VersionedInferAndRequestedOutputSubset()
    {
        var (response, body) = await _client.PostJsonAsync("/v2/models/simple/versions/1/infer",
            SimpleRequest(""", "outputs": [{"name": "OUTPUT1"}]"""));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var output = Assert.Single(body!["outputs"]!.AsArray());
        Assert.Equal("OUTPUT1", output!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task BinaryOutputsFollowTheJsonHeader()
    {
        var response = await _client.PostBinaryAsync("/v2/models/simple/infer",
            SimpleRequest(""", "outputs": [{"name": "OUTPUT0", "parameters": {"binary_data": true}}, {"name": "OUTPUT1"}]"""));
        Assert.Equal(HttpStatusCode.OK, response.Response.StatusCode);
        var sum = response.Binary["OUTPUT0"];
        Assert.Equal(64, sum.Length);
        Assert.Equal(Enumerable.Range(1, 16), Enumerable.Range(0, 16).Select(i => BitConverter.ToInt32(sum, i * 4)));
        Assert.Equal(64, response.Output("OUTPUT0")["parameters"]!["binary_data_size"]!.GetValue<int>());
        Assert.Equal(16, response.Output("OUTPUT1")["data"]!.AsArray().Count);
    }

    [Fact]
    public async Task BinaryInputsAndBinaryDataOutput()
    {
        var a = Enumerable.Range(0, 32).SelectMany(i => BitConverter.GetBytes(i)).ToArray();
        var b = Enumerable.Range(0, 32).SelectMany(i => BitConverter.GetBytes(2 * i)).ToArray();
        var response = await _client.PostBinaryAsync("/v2/models/simple/infer", """
            {"inputs": [
              {"name": "INPUT0", "datatype": "INT32", "shape": [2, 16], "parameters": {"binary_data_size": 128}},
              {"name": "INPUT1", "datatype": "INT32", "shape": [2, 16], "parameters": {"binary_data_size": 128}}],
             "parameters": {"binary_data_output": true}}
            """, a, b);
        Assert.Equal(HttpStatusCode.OK, response.Response.StatusCode);
        var difference = response.Binary["OUTPUT1"];
        Assert.Equal(Enumerable.Range(0, 32).Select(i => -i), Enumerable.Range(0, 32).Select(i => BitConverter.ToInt32(difference, i * 4)));
        Assert.Equal([2L, 16L], response.Output("OUTPUT1")["shape"]!.AsArray().Select(d => d!.GetValue<long>()));
    }

    [Fact]
    public async Task IncomeReturnsAProbabilityPerRow()
    {
        var (metaResponse, meta) = await _client.GetJsonAsync("/v2/models/income");
        Assert.Equal(HttpStatusCode.OK, metaResponse.StatusCode);
        var input = meta!["inputs"]![0]!;
        var width = input["shape"]![1]!.GetValue<int>();
        var rows = new[] { Enumerable.Repeat(0.0, width), Enumerable.Repeat(1.0, width), Enumerable.Range(0, width).Select(i => i % 3 == 0 ? 1.0 : 0.0) };
        var data = string.Join(",", rows.SelectMany(r => r).Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var (response, body) = await _client.PostJsonAsync("/v2/models/income/infer",
            $$"""{"inputs": [{"name": "{{input["name"]}}", "datatype": "FP32", "shape": [3, {{width}}], "data": [{{data}}]}]}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var output = body!["outputs"]![0]!;
        Assert.Equal(3, output["shape"]![0]!.GetValue<int>());
        var probabilities = output["data"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        Assert.Equal(3, probabilities.Length);
        Assert.All(probabilities, p => Assert.InRange(p, 0.0, 1.0));
        Assert.True(probabilities.Distinct().Count() > 1, "different rows should score differently");
    }

    [Fact]
    public async Task RawBinaryBodyFeedsTheOnlyInput()
    {
        var (metaResponse, meta) = await _client.GetJsonAsync("/v2/models/income");
        Assert.Equal(HttpStatusCode.OK, metaResponse.StatusCode);
        var width = meta!["inputs"]![0]!["shape"]![1]!.GetValue<int>();
        var rows = new float[2 * width];
        rows[3] = 1;
        var content = new ByteArrayContent(rows.SelectMany(BitConverter.GetBytes).ToArray());
        content.Headers.ContentType = new("application/octet-stream");
        content.Headers.Add("Inference-Header-Content-Length", "0");
        var response = await BinaryResponse.ReadAsync(await _client.PostAsync("/v2/models/income/infer", content));
        Assert.Equal(HttpStatusCode.OK, response.Response.StatusCode);
        var probabilities = Assert.Single(response.Binary).Value;
        Assert.Equal(2 * 4, probabilities.Length);
    }

    [Fact]
    public async Task BytesModelRoundTripsStringsAndUppercases()
    {
        var (response, body) = await _client.PostJsonAsync("/v2/models/text_upper/infer",
            """{"inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [3], "data": ["hello", "", "grüße \"q\""]}]}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var outputs = body!["outputs"]!.AsArray().ToDictionary(o => o!["name"]!.GetValue<string>(), o => o!);
        Assert.Equal(["hello", "", "grüße \"q\""], outputs["SAME"]["data"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Equal("HELLO", outputs["UPPER"]["data"]![0]!.GetValue<string>());

        var binary = await _client.PostBinaryAsync("/v2/models/text_upper/infer",
            """{"inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [2], "parameters": {"binary_data_size": 14}}], "outputs": [{"name": "SAME", "parameters": {"binary_data": true}}]}""",
            V2Client.EncodeBytes("abc"u8.ToArray(), Encoding.UTF8.GetBytes("xyz")));
        Assert.Equal(HttpStatusCode.OK, binary.Response.StatusCode);
        Assert.Equal(V2Client.EncodeBytes("abc"u8.ToArray(), "xyz"u8.ToArray()), binary.Binary["SAME"]);
    }

    [Fact]
    public async Task Fp16ModelTakesNumbersInJsonAndBitsInBinary()
    {
        var (response, body) = await _client.PostJsonAsync("/v2/models/half_scale/infer",
            """{"inputs": [{"name": "X", "datatype": "FP16", "shape": [1, 4], "data": [0, 1, -2.5, 100]}]}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var y = body!["outputs"]![0]!;
        Assert.Equal("FP16", y["datatype"]!.GetValue<string>());
        Assert.Equal([1.0, 3.0, -4.0, 201.0], y["data"]!.AsArray().Select(v => v!.GetValue<double>()));

        var x = new[] { (Half)0.5f, (Half)1f, (Half)2f, (Half)(-1f) }.SelectMany(h => BitConverter.GetBytes(h)).ToArray();
        var binary = await _client.PostBinaryAsync("/v2/models/half_scale/infer",
            """{"inputs": [{"name": "X", "datatype": "FP16", "shape": [1, 4], "parameters": {"binary_data_size": 8}}], "parameters": {"binary_data_output": true}}""", x);
        Assert.Equal(HttpStatusCode.OK, binary.Response.StatusCode);
        var bits = binary.Binary["Y"];
        Assert.Equal([2f, 3f, 5f, -1f], Enumerable.Range(0, 4).Select(i => (float)BitConverter.ToHalf(bits, i * 2)));
    }
}
