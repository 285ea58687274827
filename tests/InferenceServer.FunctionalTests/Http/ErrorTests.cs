using System.Net;

namespace InferenceServer.FunctionalTests.Http;

/// <summary>Everything a client can get wrong gets a precise 4xx naming the tensor and what was expected.</summary>
public sealed class ErrorTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _client = server.Client;

    private static string Row(int n, int value = 1) => string.Join(",", Enumerable.Repeat(value, n));

    public static readonly TheoryData<string, string> BadJsonRequests = new()
    {
        { """{"inputs": [""", "malformed JSON" },
        { """[1, 2]""", "must be a JSON object" },
        { """{"outputs": []}""", "has no 'inputs'" },
        { $$"""{"inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": [1, 16], "data": [{{Row(16)}}]}, {"name": "INPUT1", "datatype": "INT32", "shape": [1, 16], "data": [{{Row(16)}}]}]}""", "input 'INPUT0' has datatype FP32 but model 'simple' expects INT32" },
        { $$"""{"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [1, 15], "data": [{{Row(15)}}]}, {"name": "INPUT1", "datatype": "INT32", "shape": [1, 16], "data": [{{Row(16)}}]}]}""", "input 'INPUT0' has shape [1,15] but model 'simple' expects [-1,16]" },
        { $$"""{"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [1, 16], "data": [{{Row(15)}}]}, {"name": "INPUT1", "datatype": "INT32", "shape": [1, 16], "data": [{{Row(16)}}]}]}""", "input 'INPUT0' has 15 data elements but shape [1,16] needs 16" },
        { $$"""{"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [1, 16], "data": [{{Row(17)}}]}, {"name": "INPUT1", "datatype": "INT32", "shape": [1, 16], "data": [{{Row(16)}}]}]}""", "more data elements than shape [1,16]" },
        { $$"""{"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [9, 16], "data": [{{Row(144)}}]}, {"name": "INPUT1", "datatype": "INT32", "shape": [9, 16], "data": [{{Row(144)}}]}]}""", "batch size 9 but model 'simple' accepts 1 to 8" },
        { $$"""{"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [1, 16], "data": [{{Row(16)}}]}]}""", "missing input 'INPUT1'" },
        { $$"""{"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [1, 16], "data": [{{Row(16)}}]}, {"name": "INPUT1", "datatype": "INT32", "shape": [1, 16], "data": [{{Row(16)}}]}, {"name": "INPUT9", "datatype": "INT32", "shape": [1], "data": [1]}]}""", "unknown input 'INPUT9' for model 'simple'" },
        { $$"""{"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [1, 16], "data": [{{Row(16)}}]}, {"name": "INPUT1", "datatype": "INT32", "shape": [1, 16], "data": [{{Row(16)}}]}], "outputs": [{"name": "NOPE"}]}""", "unknown output 'NOPE' requested from model 'simple'" },
        { """{"inputs": [{"name": "INPUT0", "datatype": "FLOAT32", "shape": [1], "data": [1]}]}""", "inputs[0].datatype must be one of" },
        { $$"""{"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [1, 16], "data": [3000000000, {{Row(15)}}]}, {"name": "INPUT1", "datatype": "INT32", "shape": [1, 16], "data": [{{Row(16)}}]}]}""", "input 'INPUT0' element 0 is 3000000000 but INT32 needs an integer" },
        { $$"""{"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [1, 16], "data": ["a", {{Row(15)}}]}, {"name": "INPUT1", "datatype": "INT32", "shape": [1, 16], "data": [{{Row(16)}}]}]}""", "input 'INPUT0' element 0 is \"a\" but INT32 needs a number" },
        { """{"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [100000000000, 16], "data": [1]}]}""", "holds fewer elements" },
        { """{"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [-1, 16], "data": [1]}]}""", "shape must be an array of non-negative integers" },
        { """{"inputs": [{"datatype": "INT32", "shape": [1], "data": [1]}]}""", "inputs[0] has no 'name'" },
        { """{"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [1, 16]}]}""", "has neither 'data' nor a binary_data_size" },
    };

    [Theory]
    [MemberData(nameof(BadJsonRequests))]
    public async Task BadJsonRequestsGet400NamingTheProblem(string body, string expected)
    {
        var (response, json) = await _client.PostJsonAsync("/v2/models/simple/infer", body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(expected, json!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task BinaryDataShorterThanDeclaredIs400()
    {
        var response = await _client.PostBinaryAsync("/v2/models/simple/infer",
            """{"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [1, 16], "parameters": {"binary_data_size": 64}}, {"name": "INPUT1", "datatype": "INT32", "shape": [1, 16], "parameters": {"binary_data_size": 64}}]}""",
            new byte[64], new byte[60]);
        Assert.Equal(HttpStatusCode.BadRequest, response.Response.StatusCode);
        Assert.Contains("input 'INPUT1' declares binary_data_size 64 but only 60 bytes", response.Json!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task BinaryDataLongerThanDeclaredIs400()
    {
        var response = await _client.PostBinaryAsync("/v2/models/simple/infer",
            """{"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [1, 16], "parameters": {"binary_data_size": 64}}, {"name": "INPUT1", "datatype": "INT32", "shape": [1, 16], "parameters": {"binary_data_size": 64}}]}""",
            new byte[64], new byte[70]);
        Assert.Equal(HttpStatusCode.BadRequest, response.Response.StatusCode);
        Assert.Contains("add up to 128", response.Json!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task BinarySizeThatDisagreesWithShapeIs400()
    {
        var response = await _client.PostBinaryAsync("/v2/models/simple/infer",
            """{"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [1, 16], "parameters": {"binary_data_size": 60}}, {"name": "INPUT1", "datatype": "INT32", "shape": [1, 16], "parameters": {"binary_data_size": 64}}]}""",
            new byte[60], new byte[64]);
        Assert.Equal(HttpStatusCode.BadRequest, response.Response.StatusCode);
        Assert.Contains("input 'INPUT0' has 60 bytes of data but shape [1,16] of INT32 needs 64", response.Json!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task MalformedBytesElementsAre400()
    {
        var response = await _client.PostBinaryAsync("/v2/models/text_upper/infer",
            """{"inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": 6}}]}""",
            [10, 0, 0, 0, (byte)'a', (byte)'b']);
        Assert.Equal(HttpStatusCode.BadRequest, response.Response.StatusCode);
        Assert.Contains("malformed BYTES data: element 0 declares 10 bytes but only 2 remain", response.Json!["error"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("999")]
    [InlineData("abc")]
    public async Task BadHeaderLengthIs400(string headerLength)
    {
        var content = new StringContent("""{"inputs": []}""");
        content.Headers.Add("Inference-Header-Content-Length", headerLength);
        var response = await _client.PostAsync("/v2/models/simple/infer", content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Inference-Header-Content-Length", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task BodyOverTheLimitIs413()
    {
        // Expect: 100-continue lets the server refuse before the client sends 5 MiB it would discard.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/simple/infer") { Content = new ByteArrayContent(new byte[5 * 1024 * 1024]) };
        request.Headers.ExpectContinue = true;
        var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("exceeds the limit", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task UnknownModelInferIs404()
    {
        var (response, json) = await _client.PostJsonAsync("/v2/models/nope/infer", """{"inputs": []}""");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("unknown model 'nope'", json!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task ServerKeepsServingAfterGarbage()
    {
        var random = new Random(7);
        for (var i = 0; i < 50; i++)
        {
            var garbage = new byte[random.Next(1, 2000)];
            random.NextBytes(garbage);
            var content = new ByteArrayContent(garbage);
            if (i % 2 == 0)
            {
                content.Headers.Add("Inference-Header-Content-Length", random.Next(0, garbage.Length).ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            var response = await _client.PostAsync("/v2/models/simple/infer", content);
            Assert.True((int)response.StatusCode is >= 400 and < 500, $"garbage got {(int)response.StatusCode}");
        }
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync("/v2/models/simple/ready")).StatusCode);
    }
}
