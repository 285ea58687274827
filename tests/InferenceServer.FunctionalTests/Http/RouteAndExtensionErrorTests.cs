using System.Net;
using System.Text.Json.Nodes;

namespace InferenceServer.FunctionalTests.Http;

/// <summary>
/// Every error of the REST port carries <c>{"error": ...}</c> as JSON, including the routing's own 404 and 405, so
/// Triton's client shows the reason instead of "empty response"; Triton's extensions this server lacks say so.
/// </summary>
public sealed class RouteAndExtensionErrorTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _client = server.Client;

    private static async Task<string> ErrorOf(HttpResponseMessage response)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!.GetValue<string>();
    }

    [Theory]
    [InlineData("GET", "/v2/nope")]
    [InlineData("POST", "/v2/models/simple/nope")]
    [InlineData("GET", "/nothing/here")]
    [InlineData("GET", "/v2/models/simple/versions/1/trace/setting")]
    public async Task UnknownRoutesAre404WithAnErrorBody(string method, string path)
    {
        var response = await _client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal($"no endpoint {method} {path} on this server", await ErrorOf(response));
    }

    [Theory]
    [InlineData("GET", "/v2/models/simple/infer", "POST")]
    [InlineData("POST", "/v2/health/live", "GET")]
    [InlineData("DELETE", "/v2/repository/index", "POST")]
    [InlineData("PUT", "/v2/models/simple/config", "GET")]
    public async Task AWrongMethodIs405WithAllowAndAnErrorBody(string method, string path, string allowed)
    {
        var response = await _client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal([allowed], response.Content.Headers.Allow);
        Assert.Equal($"method {method} is not allowed on {path}; allowed: {allowed}", await ErrorOf(response));
    }

    // Triton's paths for them (http_server.cc); 501 because no retry or other request will make them work.
    [Theory]
    [InlineData("GET", "/v2/systemsharedmemory/status", "the system shared memory extension is not supported by this server")]
    [InlineData("GET", "/v2/systemsharedmemory/region/r1/status", "the system shared memory extension is not supported")]
    [InlineData("POST", "/v2/systemsharedmemory/region/r1/register", "the system shared memory extension is not supported")]
    [InlineData("POST", "/v2/systemsharedmemory/unregister", "the system shared memory extension is not supported")]
    [InlineData("GET", "/v2/cudasharedmemory/status", "the CUDA shared memory extension is not supported by this server")]
    [InlineData("POST", "/v2/cudasharedmemory/region/r1/register", "the CUDA shared memory extension is not supported")]
    [InlineData("GET", "/v2/trace/setting", "the trace extension is not supported by this server")]
    [InlineData("POST", "/v2/trace/setting", "the trace extension is not supported by this server")]
    [InlineData("GET", "/v2/models/simple/trace/setting", "the trace extension is not supported by this server")]
    [InlineData("GET", "/v2/logging", "the logging extension is not supported by this server")]
    [InlineData("POST", "/v2/logging", "the logging extension is not supported by this server")]
    [InlineData("POST", "/v2/models/simple/generate", "the generate extension is not supported by this server")]
    [InlineData("POST", "/v2/models/simple/versions/1/generate_stream", "the generate extension is not supported by this server")]
    public async Task ExtensionsThisServerLacksAre501SayingSo(string method, string path, string expected)
    {
        var response = await _client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = new StringContent("{}") });
        Assert.Equal(HttpStatusCode.NotImplemented, response.StatusCode);
        Assert.StartsWith(expected, await ErrorOf(response));
    }

    [Fact]
    public async Task AnInputInSharedMemoryIs400NamingTheRegion()
    {
        const string Expected = "input 'INPUT0' refers to shared-memory region 'input_data', but this server does not support shared memory";
        var request = """
            {"inputs": [
              {"name": "INPUT0", "shape": [1, 16], "datatype": "INT32", "parameters": {"shared_memory_region": "input_data", "shared_memory_byte_size": 64}},
              {"name": "INPUT1", "shape": [1, 16], "datatype": "INT32", "parameters": {"shared_memory_region": "input_data", "shared_memory_byte_size": 64, "shared_memory_offset": 64}}],
             "outputs": [{"name": "OUTPUT0", "parameters": {"binary_data": true}}]}
            """;
        var (response, body) = await _client.PostJsonAsync("/v2/models/simple/infer", request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.StartsWith(Expected, body!["error"]!.GetValue<string>());

        // The same header ahead of binary data (Inference-Header-Content-Length) is read the same way.
        var binary = await _client.PostBinaryAsync("/v2/models/simple/infer", request, new byte[64]);
        Assert.Equal(HttpStatusCode.BadRequest, binary.Response.StatusCode);
        Assert.StartsWith(Expected, binary.Json!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnOutputToSharedMemoryIs400NamingTheRegion()
    {
        var row = string.Join(",", Enumerable.Range(0, 16));
        var request = $$$"""
            {"inputs": [
              {"name": "INPUT0", "shape": [1, 16], "datatype": "INT32", "data": [{{{row}}}]},
              {"name": "INPUT1", "shape": [1, 16], "datatype": "INT32", "data": [{{{row}}}]}],
             "outputs": [{"name": "OUTPUT0", "parameters": {"shared_memory_region": "output_data", "shared_memory_byte_size": 64}}]}
            """;
        var (response, body) = await _client.PostJsonAsync("/v2/models/simple/infer", request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.StartsWith("output 'OUTPUT0' asks to be written to shared-memory region 'output_data'", body!["error"]!.GetValue<string>());
    }
}
