using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Xunit.Abstractions;

namespace InferenceServer.FunctionalTests.Hardening;

/// <summary>
/// Mutated REST inference requests against the real server (<see cref="RestOracle"/> judges each answer): JSON bodies,
/// binary-tensor bodies (header, tensors and the header-length header), and raw HTTP/1.1 requests whose request line
/// and headers are mutated (a path with %00 or "..", a non-ASCII Content-Type, lengths that lie, chunked bodies).
/// </summary>
[Collection(FuzzCollection.Name)]
public sealed class RestFuzzTests(FuzzServer server, ITestOutputHelper output)
{
    // (model, valid JSON request) — every model of the fuzz server, every datatype through identity.
    private static readonly (string Model, string Json)[] JsonRequests =
    [
        ("simple", """{"id": "1", "inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [1, 16], "data": [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]}, {"name": "INPUT1", "datatype": "INT32", "shape": [1, 16], "data": [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}], "outputs": [{"name": "OUTPUT0"}, {"name": "OUTPUT1", "parameters": {"binary_data": false}}]}"""),
        ("simple", """{"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [2, 16], "data": [[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15], [-1,-2,-3,-4,-5,-6,-7,-8,-9,-10,-11,-12,-13,-14,-15,-16]]}, {"name": "INPUT1", "datatype": "INT32", "shape": [2, 16], "data": [2147483647,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,-2147483648,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}], "parameters": {"binary_data_output": false}}"""),
        ("income", File.ReadAllText(Path.Combine(RepositoryPaths.Models, "income", "example_request.json"))),
        ("text_upper", """{"inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [3], "data": ["hello", "wörld ß", "MiXeD"]}]}"""),
        ("half_scale", """{"inputs": [{"name": "X", "datatype": "FP16", "shape": [2, 4], "data": [0.5, 1, 2, -3, 65504, -0.0001, "NaN", "Infinity"]}]}"""),
        ("identity", """
            {"inputs": [
              {"name": "IN_BOOL", "datatype": "BOOL", "shape": [1, 3], "data": [true, false, true]},
              {"name": "IN_UINT8", "datatype": "UINT8", "shape": [1, 3], "data": [0, 255, 7]},
              {"name": "IN_UINT16", "datatype": "UINT16", "shape": [1, 3], "data": [0, 65535, 7]},
              {"name": "IN_UINT32", "datatype": "UINT32", "shape": [1, 3], "data": [0, 4294967295, 7]},
              {"name": "IN_UINT64", "datatype": "UINT64", "shape": [1, 3], "data": [0, 18446744073709551615, 7]},
              {"name": "IN_INT8", "datatype": "INT8", "shape": [1, 3], "data": [-128, 127, 0]},
              {"name": "IN_INT16", "datatype": "INT16", "shape": [1, 3], "data": [-32768, 32767, 0]},
              {"name": "IN_INT32", "datatype": "INT32", "shape": [1, 3], "data": [-2147483648, 2147483647, 0]},
              {"name": "IN_INT64", "datatype": "INT64", "shape": [1, 3], "data": [-9223372036854775808, 9223372036854775807, 0]},
              {"name": "IN_FLOAT16", "datatype": "FP16", "shape": [1, 3], "data": [0.5, -2, 65504]},
              {"name": "IN_BFLOAT16", "datatype": "BF16", "shape": [1, 3], "data": [1.5, -3, 256]},
              {"name": "IN_FLOAT", "datatype": "FP32", "shape": [1, 3], "data": [1.5, -0.25, 3.4e38]},
              {"name": "IN_DOUBLE", "datatype": "FP64", "shape": [1, 3], "data": [1e-300, -2.5, 1.7976931348623157e308]},
              {"name": "IN_STRING", "datatype": "BYTES", "shape": [1, 3], "data": ["", "ü", "a b"]}],
             "outputs": [{"name": "OUT_FLOAT"}, {"name": "OUT_STRING", "parameters": {"binary_data": true}}]}
            """),
    ];

    [Fact]
    public async Task Json_infer_bodies()
    {
        var report = await FuzzLoop.RunAsync(server, "rest-json", 2400, (random, index) =>
        {
            var (model, json) = JsonRequests[random.Next(JsonRequests.Length)];
            // The first pass takes every mutation kind in turn, so a short run still covers each.
            var (bytes, what) = JsonMutator.MutateSome(Encoding.UTF8.GetBytes(json), random, index < JsonMutator.Names.Length * 20 ? index % JsonMutator.Names.Length : null);
            return new FuzzCase(index, bytes, $"POST /v2/models/{model}/infer, application/json; {what}") { State = model };
        }, async (c, cancel) =>
        {
            var model = (string)c.State!;
            using var content = new ByteArrayContent(c.Bytes);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await server.Http.PostAsync($"/v2/models/{model}/infer", content, cancel);
            var body = await response.Content.ReadAsByteArrayAsync(cancel);
            return RestOracle.Judge((int)response.StatusCode, body, HeaderLength(response), model, c.Bytes, binaryRequest: false);
        });
        report.Finish(output);
    }

    [Fact]
    public async Task Binary_tensor_infer_bodies()
    {
        var report = await FuzzLoop.RunAsync(server, "rest-binary", 1200, (random, index) =>
        {
            var (model, header, tensors) = BinaryRequests[random.Next(BinaryRequests.Length)];
            var headerBytes = Encoding.UTF8.GetBytes(header);
            var what = new List<string>();
            var declared = (string?)null;
            switch (random.Next(4))
            {
                case 0:
                    (headerBytes, var done) = JsonMutator.MutateSome(headerBytes, random);
                    what.Add("header: " + done);
                    break;
                case 1:
                    var damage = random.Next(ByteMutator.Names.Length);
                    tensors = ByteMutator.Mutate(tensors, random, damage);
                    what.Add("tensors: " + ByteMutator.Names[damage]);
                    break;
                case 2:
                    string[] lengths = ["-1", "0", "abc", "99999999999", "2147483648", " 12", "1e3", "", "0x10"];
                    declared = random.Next(2) == 0 ? lengths[random.Next(lengths.Length)] : (headerBytes.Length + random.Next(-8, 9)).ToString(CultureInfo.InvariantCulture);
                    what.Add($"Inference-Header-Content-Length: '{declared}'");
                    break;
                default:
                    (headerBytes, var both) = JsonMutator.MutateSome(headerBytes, random);
                    tensors = ByteMutator.MutateAny(tensors, random);
                    what.Add("header and tensors: " + both);
                    break;
            }
            declared ??= headerBytes.Length.ToString(CultureInfo.InvariantCulture);
            return new FuzzCase(index, [.. headerBytes, .. tensors], $"POST /v2/models/{model}/infer, Inference-Header-Content-Length: {declared}; {string.Join("; ", what)}")
            {
                State = (model, declared, headerBytes),
            };
        }, async (c, cancel) =>
        {
            var (model, declared, header) = ((string, string, byte[]))c.State!;
            using var content = new ByteArrayContent(c.Bytes);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            content.Headers.TryAddWithoutValidation("Inference-Header-Content-Length", declared);
            using var response = await server.Http.PostAsync($"/v2/models/{model}/infer", content, cancel);
            var body = await response.Content.ReadAsByteArrayAsync(cancel);
            return RestOracle.Judge((int)response.StatusCode, body, HeaderLength(response), model, header, binaryRequest: true);
        });
        report.Finish(output);
    }

    [Fact]
    public async Task Raw_http_request_lines_and_headers()
    {
        var report = await FuzzLoop.RunAsync(server, "rest-http", 600, RawHttp.Generate, (c, cancel) => RawHttp.SendAsync(server.HttpAddress, c, cancel), parallelism: 4);
        report.Finish(output);
    }

    // (model, JSON header, tensors): the binary tensor extension with inputs and outputs in binary.
    private static readonly (string Model, string Header, byte[] Tensors)[] BinaryRequests =
    [
        ("simple", """{"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [1, 16], "parameters": {"binary_data_size": 64}}, {"name": "INPUT1", "datatype": "INT32", "shape": [1, 16], "parameters": {"binary_data_size": 64}}], "outputs": [{"name": "OUTPUT0", "parameters": {"binary_data": true}}, {"name": "OUTPUT1"}]}""",
            [.. Enumerable.Range(0, 16).SelectMany(BitConverter.GetBytes), .. Enumerable.Repeat(1, 16).SelectMany(BitConverter.GetBytes)]),
        ("text_upper", """{"inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [3], "parameters": {"binary_data_size": 28}}], "parameters": {"binary_data_output": true}}""",
            Http.V2Client.EncodeBytes("hello"u8.ToArray(), "wörld"u8.ToArray(), "MiXeD"u8.ToArray())),
        ("income", """{"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 58], "parameters": {"binary_data_size": 232}}], "outputs": [{"name": "probability", "parameters": {"binary_data": true}}]}""",
            [.. Enumerable.Range(0, 58).SelectMany(i => BitConverter.GetBytes(i % 7 == 0 ? 1f : 0.25f))]),
        ("half_scale", """{"inputs": [{"name": "X", "datatype": "FP16", "shape": [1, 4], "parameters": {"binary_data_size": 8}}]}""",
            [.. new[] { (Half)0.5, (Half)1, (Half)(-2), (Half)65504 }.SelectMany(BitConverter.GetBytes)]),
    ];

    private static int? HeaderLength(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Inference-Header-Content-Length", out var values)
        && int.TryParse(values.First(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var length) ? length : null;

}
