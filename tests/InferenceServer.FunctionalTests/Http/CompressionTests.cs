using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace InferenceServer.FunctionalTests.Http;

/// <summary>
/// Compressed bodies on a real server whose body limit is 4 MiB: the limit holds for the inflated size, unknown codings
/// are refused with the ones accepted, and responses are compressed only for clients that accept it and only when large.
/// </summary>
public sealed class CompressionTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private const int Limit = 4 * 1024 * 1024;
    private readonly HttpClient _client = server.Client;

    private static readonly string SimpleRequest = $$"""
        {"inputs": [
          {"name": "INPUT0", "datatype": "INT32", "shape": [1, 16], "data": [{{string.Join(",", Enumerable.Range(0, 16))}}]},
          {"name": "INPUT1", "datatype": "INT32", "shape": [1, 16], "data": [{{string.Join(",", Enumerable.Repeat(1, 16))}}]}]}
        """;

    private static byte[] Compress(string coding, byte[] data)
    {
        using var output = new MemoryStream();
        using (Stream compressor = coding == "gzip" ? new GZipStream(output, CompressionLevel.Optimal) : new ZLibStream(output, CompressionLevel.Optimal))
        {
            compressor.Write(data);
        }
        return output.ToArray();
    }

    private static byte[] Decompress(string? coding, byte[] data)
    {
        if (coding is null)
        {
            return data;
        }
        using Stream decompressor = coding == "gzip" ? new GZipStream(new MemoryStream(data), CompressionMode.Decompress) : new ZLibStream(new MemoryStream(data), CompressionMode.Decompress);
        using var output = new MemoryStream();
        decompressor.CopyTo(output);
        return output.ToArray();
    }

    private async Task<HttpResponseMessage> PostAsync(string path, byte[] body, string? contentEncoding, string? acceptEncoding = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (contentEncoding is not null)
        {
            request.Content.Headers.TryAddWithoutValidation("Content-Encoding", contentEncoding);
        }
        if (acceptEncoding is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept-Encoding", acceptEncoding);
        }
        return await _client.SendAsync(request);
    }

    // A valid request padded with trailing whitespace to exactly `size` bytes.
    private static byte[] PaddedRequest(int size)
    {
        var json = Encoding.UTF8.GetBytes(SimpleRequest);
        var body = new byte[size];
        Array.Fill(body, (byte)' ');
        json.CopyTo(body, 0);
        return body;
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    [InlineData("GZIP")]
    public async Task CompressedRequestsAreDecompressed(string coding)
    {
        var response = await PostAsync("/v2/models/simple/infer", Compress(coding.ToLowerInvariant(), Encoding.UTF8.GetBytes(SimpleRequest)), coding);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToJsonString());
        Assert.Equal(Enumerable.Range(1, 16), body["outputs"]!.AsArray().Single(o => o!["name"]!.GetValue<string>() == "OUTPUT0")!["data"]!.AsArray().Select(v => v!.GetValue<int>()));
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    public async Task TheLimitAppliesToTheInflatedBodyToTheByte(string coding)
    {
        var atLimit = await PostAsync("/v2/models/simple/infer", Compress(coding, PaddedRequest(Limit)), coding);
        Assert.True(atLimit.StatusCode == HttpStatusCode.OK, await atLimit.Content.ReadAsStringAsync());

        var overLimit = await PostAsync("/v2/models/simple/infer", Compress(coding, PaddedRequest(Limit + 1)), coding);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, overLimit.StatusCode);
        Assert.Contains($"more than the limit of {Limit} bytes", JsonNode.Parse(await overLimit.Content.ReadAsStringAsync())!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task ASmallBodyThatInflatesFarPastTheLimitIs413()
    {
        // 256 MiB of zeros is about 250 KB of gzip, well under the limit; the server stops inflating at the limit.
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            var zeros = new byte[1024 * 1024];
            for (var i = 0; i < 256; i++)
            {
                gzip.Write(zeros);
            }
        }
        Assert.True(compressed.Length < Limit / 8, $"{compressed.Length} bytes compressed");
        var response = await PostAsync("/v2/models/simple/infer", compressed.ToArray(), "gzip");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("inflates to", await response.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync("/v2/health/ready")).StatusCode);
    }

    [Fact]
    public async Task ACompressedBodyOverTheLimitBeforeInflatingIs413()
    {
        var noise = new byte[Limit + 1024];
        new Random(5).NextBytes(noise);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/simple/infer") { Content = new ByteArrayContent(Compress("gzip", noise)) };
        request.Content.Headers.ContentEncoding.Add("gzip");
        // Expect: 100-continue lets the server refuse before the client sends what it would discard.
        request.Headers.ExpectContinue = true;
        var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("exceeds the limit", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    public async Task CorruptCompressedDataIs400(string coding)
    {
        var response = await PostAsync("/v2/models/simple/infer", Encoding.UTF8.GetBytes(SimpleRequest), coding);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains($"not valid {coding} data", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("br")]
    [InlineData("zstd")]
    [InlineData("gzip, gzip")]
    [InlineData("compress")]
    public async Task OtherCodingsAre415NamingTheAcceptedOnes(string coding)
    {
        var response = await PostAsync("/v2/models/simple/infer", Encoding.UTF8.GetBytes(SimpleRequest), coding);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("gzip, deflate", response.Headers.GetValues("Accept-Encoding").Single());
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("Content-Encoding", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task IdentityIsNoCoding()
    {
        var response = await PostAsync("/v2/models/simple/infer", Encoding.UTF8.GetBytes(SimpleRequest), "identity");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("gzip", "gzip")]
    [InlineData("deflate", "deflate")]
    [InlineData("gzip, deflate", "gzip")]
    [InlineData("gzip;q=0.5, deflate", "deflate")]
    [InlineData("br", null)]
    [InlineData("gzip;q=0", null)]
    [InlineData(null, null)]
    public async Task LargeResponsesAreCompressedAsTheClientPrefers(string? acceptEncoding, string? expected)
    {
        // 8 rows of 16 seven-digit INT32 in and out: well over the 1 KiB below which responses go plain.
        var rows = string.Join(",", Enumerable.Range(1_000_000, 128));
        var request = $$"""
            {"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [8, 16], "data": [{{rows}}]},
                        {"name": "INPUT1", "datatype": "INT32", "shape": [8, 16], "data": [{{rows}}]}]}
            """;
        var response = await PostAsync("/v2/models/simple/infer", Encoding.UTF8.GetBytes(request), null, acceptEncoding);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(expected, response.Content.Headers.ContentEncoding.SingleOrDefault());
        var json = Decompress(expected, await response.Content.ReadAsByteArrayAsync());
        Assert.True(json.Length >= 1024, $"the response is {json.Length} bytes");
        var output = JsonNode.Parse(json)!["outputs"]!.AsArray().Single(o => o!["name"]!.GetValue<string>() == "OUTPUT0")!;
        Assert.Equal(Enumerable.Range(1_000_000, 128).Select(i => 2 * i), output["data"]!.AsArray().Select(v => v!.GetValue<int>()));
    }

    [Fact]
    public async Task BinaryResponsesAreCompressedWithTheirHeaderLengthUncompressed()
    {
        var rows = Enumerable.Range(0, 128).ToArray();
        var data = new byte[rows.Length * 4];
        Buffer.BlockCopy(rows, 0, data, 0, data.Length);
        var header = Encoding.UTF8.GetBytes("""
            {"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [8, 16], "parameters": {"binary_data_size": 512}},
                        {"name": "INPUT1", "datatype": "INT32", "shape": [8, 16], "parameters": {"binary_data_size": 512}}],
             "outputs": [{"name": "OUTPUT0", "parameters": {"binary_data": true}}, {"name": "OUTPUT1", "parameters": {"binary_data": true}}]}
            """);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/simple/infer") { Content = new ByteArrayContent(Compress("deflate", [.. header, .. data, .. data])) };
        request.Content.Headers.ContentEncoding.Add("deflate");
        request.Content.Headers.Add("Inference-Header-Content-Length", header.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip");
        var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("gzip", response.Content.Headers.ContentEncoding.Single());
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType!.MediaType);
        var body = Decompress("gzip", await response.Content.ReadAsByteArrayAsync());
        var jsonLength = int.Parse(response.Headers.GetValues("Inference-Header-Content-Length").Single(), System.Globalization.CultureInfo.InvariantCulture);
        var json = JsonNode.Parse(body.AsSpan(0, jsonLength))!;
        Assert.Equal(512, json["outputs"]![0]!["parameters"]!["binary_data_size"]!.GetValue<int>());
        Assert.Equal(jsonLength + 1024, body.Length);
        var sums = new int[128];
        Buffer.BlockCopy(body, jsonLength, sums, 0, 512);
        Assert.Equal(rows.Select(r => 2 * r), sums);
        var differences = new int[128];
        Buffer.BlockCopy(body, jsonLength + 512, differences, 0, 512);
        Assert.All(differences, d => Assert.Equal(0, d));
    }

    [Fact]
    public async Task SmallResponsesAndErrorsAreNotCompressed()
    {
        var small = await PostAsync("/v2/models/simple/infer", Encoding.UTF8.GetBytes(SimpleRequest), null, "gzip");
        Assert.Equal(HttpStatusCode.OK, small.StatusCode);
        Assert.Empty(small.Content.Headers.ContentEncoding);
        Assert.NotNull(JsonNode.Parse(await small.Content.ReadAsStringAsync()));

        var error = await PostAsync("/v2/models/simple/infer", Encoding.UTF8.GetBytes("""{"inputs": []}"""), null, "gzip");
        Assert.Equal(HttpStatusCode.BadRequest, error.StatusCode);
        Assert.Empty(error.Content.Headers.ContentEncoding);
        Assert.Contains("missing input", JsonNode.Parse(await error.Content.ReadAsStringAsync())!["error"]!.GetValue<string>());
    }
}
