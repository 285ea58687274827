using System.Net;
using System.Text;
using System.Text.Json.Nodes;

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

    private const string NotUtf8 = "not valid UTF-8 text (an invalid or truncated byte sequence, or an unpaired surrogate escape such as \\ud800); JSON strings must be UTF-8";

    // Each was a 500: Utf8JsonReader leaves a string's text unchecked until it is decoded, and reports it there with an
    // exception the decoder did not expect. {0} marks where the raw bytes go.
    public static readonly TheoryData<string, byte[], string> StringsThatAreNotText = new()
    {
        { """{"id": "{0}", "inputs": []}""", [0xFF], $"id is {NotUtf8}" },
        { """{"id": "x{0}", "inputs": []}""", [0xE2, 0x82], $"id is {NotUtf8}" },
        { """{"inputs": [{"name": "TE{0}", "datatype": "BYTES", "shape": [1], "data": ["a"]}]}""", [0xC3], $"inputs[0].name is {NotUtf8}" },
        { """{"inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [2], "data": ["a", "{0}"]}]}""", [0xED, 0xA0, 0x80], $"input 'TEXT' element 1 is {NotUtf8}" },
        { """{"inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [1], "data": ["{0}"]}]}""", "\\ud800"u8.ToArray(), $"input 'TEXT' element 0 is {NotUtf8}" },
        { """{"{0}": 1, "inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [1], "data": ["a"]}]}""", "\\udc00"u8.ToArray(), $"the request has a key or string that is {NotUtf8}" },
        { """{"parameters": {"cohort": "{0}"}, "inputs": []}""", [0xF0, 0x9F, 0x98], $"parameters.cohort is {NotUtf8}" },
        { """{"inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [1], "data": ["a"]}], "outputs": [{"name": "UPPER", "parameters": {"x": "{0}"}}]}""", [0x80], $"outputs[0].parameters has a key or string that is {NotUtf8}" },
    };

    [Theory]
    [MemberData(nameof(StringsThatAreNotText))]
    public async Task StringsThatAreNotTextAre400NamingTheField(string json, byte[] bytes, string expected)
    {
        var at = json.IndexOf("{0}", StringComparison.Ordinal);
        byte[] body = [.. Encoding.UTF8.GetBytes(json[..at]), .. bytes, .. Encoding.UTF8.GetBytes(json[(at + 3)..])];
        var response = await _client.PostAsync("/v2/models/text_upper/infer", new ByteArrayContent(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(expected, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!.GetValue<string>());
    }

    public static readonly TheoryData<string, string> NumbersPastTheRange = new()
    {
        { $$"""{"inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": [1, 16], "data": [{{Row(15)}}, 1e39]}]}""", "input 'INPUT0' element 15 is 1e39 but FP32 needs a number from -3.4028235E+38 to 3.4028235E+38" },
        { """{"inputs": [{"name": "X", "datatype": "FP16", "shape": [1, 4], "data": [1, -70000, 3, 4]}]}""", "input 'X' element 1 is -70000 but FP16 needs a number from -65504 to 65504" },
        { """{"inputs": [{"name": "INPUT0", "datatype": "FP64", "shape": [1], "data": [1e309]}]}""", "input 'INPUT0' element 0 is 1e309 but FP64 needs a number from -1.7976931348623157E+308 to 1.7976931348623157E+308" },
    };

    [Theory]
    [MemberData(nameof(NumbersPastTheRange))]
    public async Task NumbersPastTheTypesRangeAre400NamingTheElement(string body, string expected)
    {
        var (response, json) = await _client.PostJsonAsync("/v2/models/half_scale/infer", body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.StartsWith(expected, json!["error"]!.GetValue<string>());
    }

    public static readonly TheoryData<string, string> RepeatedKeys = new()
    {
        { $$"""{"inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [1], "data": ["a"]}], "inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [1], "data": ["b"]}]}""", "key 'inputs' is given more than once in the request" },
        { """{"inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [1], "shape": [2], "data": ["a", "b"]}]}""", "key 'shape' is given more than once in inputs[0]" },
        { """{"parameters": {"priority": 1, "priority": 2}, "inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [1], "data": ["a"]}]}""", "key 'priority' is given more than once in parameters" },
        { """{"inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [1], "data": ["a"]}], "outputs": [{"name": "UPPER", "parameters": {"binary_data": true, "binary_data": false}}]}""", "key 'binary_data' is given more than once in outputs[0].parameters" },
    };

    [Theory]
    [MemberData(nameof(RepeatedKeys))]
    public async Task RepeatedKeysAre400NamingTheKey(string body, string expected)
    {
        var (response, json) = await _client.PostJsonAsync("/v2/models/text_upper/infer", body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(expected + "; a JSON object's keys must be unique", json!["error"]!.GetValue<string>());
    }

    // Binary BYTES carry any bytes; ONNX string tensors hold UTF-8 text, and text_upper's StringNormalizer refuses the rest.
    [Fact]
    public async Task BinaryStringsThatAreNotUtf8AreRefusedBeforeTheModelRuns()
    {
        var response = await _client.PostBinaryAsync("/v2/models/text_upper/infer",
            """{"inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [3], "parameters": {"binary_data_size": 17}}], "outputs": [{"name": "SAME", "parameters": {"binary_data": true}}]}""",
            V2Client.EncodeBytes("ok"u8.ToArray(), [0xC3, 0x28], [0xFF]));
        Assert.Equal(HttpStatusCode.BadRequest, response.Response.StatusCode);
        Assert.Equal("input 'TEXT' element 1 is not valid UTF-8 text, which model 'text_upper' needs in its string (BYTES) inputs", response.Json!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnInputTheModelRefusesIs400WithTheRuntimesReason()
    {
        // StringNormalizer takes [C > 0] only; ONNX Runtime says so with INVALID_ARGUMENT.
        var (response, json) = await _client.PostJsonAsync("/v2/models/text_upper/infer",
            """{"inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [0], "data": []}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Single dimension value must be greater than 0", json!["error"]!.GetValue<string>());
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
