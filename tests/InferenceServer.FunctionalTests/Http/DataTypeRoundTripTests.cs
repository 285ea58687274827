using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace InferenceServer.FunctionalTests.Http;

/// <summary>
/// Every v2 datatype through a real model (one Identity per type, auto-completed config) in both
/// JSON and binary form: what goes in must come back exactly.
/// </summary>
public sealed class DataTypeRoundTripTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _client = server.Client;

    // v2 datatype, the fixture's ONNX type name, three JSON values.
    public static readonly TheoryData<string, string, string> Cases = new()
    {
        { "BOOL", "BOOL", "true, false, true" },
        { "UINT8", "UINT8", "0, 255, 7" },
        { "UINT16", "UINT16", "0, 65535, 7" },
        { "UINT32", "UINT32", "0, 4294967295, 7" },
        { "UINT64", "UINT64", "0, 18446744073709551615, 7" },
        { "INT8", "INT8", "-128, 127, 0" },
        { "INT16", "INT16", "-32768, 32767, 0" },
        { "INT32", "INT32", "-2147483648, 2147483647, 0" },
        { "INT64", "INT64", "-9223372036854775808, 9223372036854775807, 0" },
        { "FP16", "FLOAT16", "0.5, -2, 65504" },
        { "BF16", "BFLOAT16", "1.5, -3, 256" },
        { "FP32", "FLOAT", "1.5, -0.25, 3.4e38" },
        { "FP64", "DOUBLE", "1e-300, -2.5, 1.7976931348623157e308" },
        { "BYTES", "STRING", "\"\", \"ü\", \"a b\"" },
    };

    private static string AllInputs(Func<string, string, string, string> input) =>
        string.Join(",", Cases.Select(c => input((string)c[0], (string)c[1], (string)c[2])));

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task JsonRoundTrip(string datatype, string onnxName, string values)
    {
        var request = $$"""
            {"inputs": [{{AllInputs((t, n, v) => $$"""{"name": "IN_{{n}}", "datatype": "{{t}}", "shape": [1, 3], "data": [{{v}}]}""")}}],
             "outputs": [{"name": "OUT_{{onnxName}}"}]}
            """;
        var (response, body) = await _client.PostJsonAsync("/v2/models/identity/infer", request);
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        var output = Assert.Single(body!["outputs"]!.AsArray())!;
        Assert.Equal(datatype, output["datatype"]!.GetValue<string>());
        Assert.Equal([1L, 3L], output["shape"]!.AsArray().Select(d => d!.GetValue<long>()));
        var expected = JsonNode.Parse($"[{values}]")!.AsArray();
        var actual = output["data"]!.AsArray();
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(Normalize(datatype, expected[i]!), Normalize(datatype, actual[i]!));
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task BinaryRoundTrip(string datatype, string onnxName, string values)
    {
        var blobs = Cases.Select(c => Encode((string)c[0], (string)c[2])).ToArray();
        var request = $$$"""
            {"inputs": [{{{string.Join(",", Cases.Select((c, i) => $$$"""{"name": "IN_{{{c[1]}}}", "datatype": "{{{c[0]}}}", "shape": [1, 3], "parameters": {"binary_data_size": {{{blobs[i].Length}}}}}"""))}}}],
             "outputs": [{"name": "OUT_{{{onnxName}}}", "parameters": {"binary_data": true}}]}
            """;
        var response = await _client.PostBinaryAsync("/v2/models/identity/infer", request, blobs);
        Assert.Equal(HttpStatusCode.OK, response.Response.StatusCode);
        Assert.Equal(Encode(datatype, values), response.Binary[$"OUT_{onnxName}"]);
    }

    // JSON has no NaN or infinity: the server writes them as strings, and a client that sends back what it got
    // (a float output fed to the next model) must be understood. Through a real model, in JSON both ways.
    [Theory]
    [InlineData("FP16", "FLOAT16")]
    [InlineData("BF16", "BFLOAT16")]
    [InlineData("FP32", "FLOAT")]
    [InlineData("FP64", "DOUBLE")]
    public async Task NonFiniteFloatsRoundTripInJson(string datatype, string onnxName)
    {
        const string NonFinite = "\"NaN\", \"Infinity\", \"-Infinity\"";
        var request = $$"""
            {"inputs": [{{AllInputs((t, n, v) => $$"""{"name": "IN_{{n}}", "datatype": "{{t}}", "shape": [1, 3], "data": [{{(t == datatype ? NonFinite : v)}}]}""")}}],
             "outputs": [{"name": "OUT_{{onnxName}}"}]}
            """;
        var (response, body) = await _client.PostJsonAsync("/v2/models/identity/infer", request);
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        var output = Assert.Single(body!["outputs"]!.AsArray())!;
        Assert.Equal(["NaN", "Infinity", "-Infinity"], output["data"]!.AsArray().Select(v => v!.GetValue<string>()));
    }

    // JSON numbers may be spelled differently (3.4e38 vs 3.4E+38); compare their values.
    private static string Normalize(string datatype, JsonNode value) => datatype switch
    {
        "BOOL" => value.GetValue<bool>().ToString(),
        "BYTES" => value.GetValue<string>(),
        "UINT64" => value.GetValue<ulong>().ToString(CultureInfo.InvariantCulture),
        "FP16" or "BF16" or "FP32" or "FP64" => value.GetValue<double>().ToString("R", CultureInfo.InvariantCulture),
        _ => value.GetValue<long>().ToString(CultureInfo.InvariantCulture),
    };

    // The binary extension's layout of the three values.
    private static byte[] Encode(string datatype, string values)
    {
        var items = JsonNode.Parse($"[{values}]")!.AsArray();
        var bytes = new List<byte>();
        foreach (var item in items)
        {
            var v = item!;
            bytes.AddRange(datatype switch
            {
                "BOOL" => [v.GetValue<bool>() ? (byte)1 : (byte)0],
                "UINT8" => [v.GetValue<byte>()],
                "INT8" => [(byte)v.GetValue<sbyte>()],
                "UINT16" => BitConverter.GetBytes(v.GetValue<ushort>()),
                "INT16" => BitConverter.GetBytes(v.GetValue<short>()),
                "UINT32" => BitConverter.GetBytes(v.GetValue<uint>()),
                "INT32" => BitConverter.GetBytes(v.GetValue<int>()),
                "UINT64" => BitConverter.GetBytes(v.GetValue<ulong>()),
                "INT64" => BitConverter.GetBytes(v.GetValue<long>()),
                "FP16" => BitConverter.GetBytes((Half)v.GetValue<double>()),
                "BF16" => BitConverter.GetBytes((ushort)(BitConverter.SingleToUInt32Bits((float)v.GetValue<double>()) >> 16)),
                "FP32" => BitConverter.GetBytes((float)v.GetValue<double>()),
                "FP64" => BitConverter.GetBytes(v.GetValue<double>()),
                "BYTES" => V2Client.EncodeBytes(Encoding.UTF8.GetBytes(v.GetValue<string>())),
                _ => throw new ArgumentException(datatype),
            });
        }
        return bytes.ToArray();
    }
}
