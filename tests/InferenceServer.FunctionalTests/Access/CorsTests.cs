using System.Net;
using static InferenceServer.FunctionalTests.Access.AccessClient;
using static InferenceServer.FunctionalTests.Lifecycle.Lifecycle;

namespace InferenceServer.FunctionalTests.Access;

/// <summary>CORS on the REST endpoint: off by default; configured, a preflight from an allowed origin is answered without a credential.</summary>
public sealed class CorsTests
{
    private const string Origin = "https://app.example.com";
    private const string Token = "browser-5f4dcc3b5aa765d61d8327de";

    private static HttpRequestMessage Preflight(string origin, string method = "POST", string headers = "authorization,content-type")
    {
        var request = new HttpRequestMessage(HttpMethod.Options, "/v2/models/m/infer");
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", method);
        request.Headers.Add("Access-Control-Request-Headers", headers);
        return request;
    }

    [Fact]
    public async Task APreflightFromAnAllowedOriginIsAnsweredWithoutACredential()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, ("Cors:Origins:0", Origin), ("Auth:Tokens:0", Entry("browser", Token, "infer")));

        using var preflight = await server.Client.SendAsync(Preflight(Origin));
        Assert.Equal(HttpStatusCode.NoContent, preflight.StatusCode);
        Assert.Equal(Origin, preflight.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("POST", preflight.Headers.GetValues("Access-Control-Allow-Methods").Single());
        var allowedHeaders = preflight.Headers.GetValues("Access-Control-Allow-Headers").Single().ToLowerInvariant();
        Assert.Contains("authorization", allowedHeaders);
        Assert.Contains("content-type", allowedHeaders);

        // The request itself carries its token, and its answer the origin (a refusal too, so the page can read it).
        using var infer = await SendAsync(server.Client, HttpMethod.Post, "/v2/models/m/infer", AddSubRequest(1), Token, ("Origin", Origin));
        Assert.Equal(HttpStatusCode.OK, infer.StatusCode);
        Assert.Equal(Origin, infer.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("Inference-Header-Content-Length", infer.Headers.GetValues("Access-Control-Expose-Headers").Single());
        using var refused = await SendAsync(server.Client, HttpMethod.Post, "/v2/models/m/infer", AddSubRequest(1), null, ("Origin", Origin));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(Origin, refused.Headers.GetValues("Access-Control-Allow-Origin").Single());

        // Another origin, or a method not allowed, gets no grant.
        using var stranger = await server.Client.SendAsync(Preflight("https://evil.example.net"));
        Assert.False(stranger.Headers.Contains("Access-Control-Allow-Origin"));
        using var delete = await server.Client.SendAsync(Preflight(Origin, "DELETE"));
        Assert.False(delete.Headers.Contains("Access-Control-Allow-Methods") && delete.Headers.GetValues("Access-Control-Allow-Methods").Single().Contains("DELETE", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CorsIsOffByDefault()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path);

        using var preflight = await server.Client.SendAsync(Preflight(Origin));
        Assert.False(preflight.Headers.Contains("Access-Control-Allow-Origin"));
        using var infer = await SendAsync(server.Client, HttpMethod.Post, "/v2/models/m/infer", AddSubRequest(1), null, ("Origin", Origin));
        Assert.Equal(HttpStatusCode.OK, infer.StatusCode);
        Assert.False(infer.Headers.Contains("Access-Control-Allow-Origin"));
    }
}
