using System.Net;
using Grpc.Core;
using Grpc.Health.V1;
using InferenceServer.FunctionalTests.Grpc;
using InferenceServer.Protocols.Grpc.Messages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static InferenceServer.FunctionalTests.Access.AccessClient;
using static InferenceServer.FunctionalTests.Lifecycle.Lifecycle;

namespace InferenceServer.FunctionalTests.Access;

/// <summary>
/// Tokens with scopes, through the real server: each scope allowed with a token that holds it and refused otherwise,
/// over REST (401 with WWW-Authenticate, 403), gRPC (UNAUTHENTICATED, PERMISSION_DENIED) and the metrics port; every
/// refusal counted and logged, never with the secret.
/// </summary>
public sealed class TokenScopeTests
{
    private static readonly string[] Scopes = ["health", "metadata", "infer", "statistics", "repository", "metrics"];

    private static string Secret(string scope) => $"s3cret-{scope}-7f1c9a2e4b6d8f0a";

    // One token per scope, named after it; nothing open, so health is checked like the rest.
    private static (string, string)[] OneTokenPerScope(string open) =>
        [.. Scopes.Select((s, i) => ($"Auth:Tokens:{i}", Entry($"{s}-client", Secret(s), s))), ("Auth:OpenScopes", open),
            ("Logging:LogLevel:InferenceServer.Protocols.Access", "Information")];

    private static async Task<HttpResponseMessage> CallAsync(RunningServer server, string scope, string? bearer, params (string, string)[] headers) => scope switch
    {
        "health" => await SendAsync(server.Client, HttpMethod.Get, "/v2/health/ready", null, bearer, headers),
        "metadata" => await SendAsync(server.Client, HttpMethod.Get, "/v2/models/m/config", null, bearer, headers),
        "infer" => await SendAsync(server.Client, HttpMethod.Post, "/v2/models/m/infer", AddSubRequest(1), bearer, headers),
        "statistics" => await SendAsync(server.Client, HttpMethod.Get, "/v2/models/m/stats", null, bearer, headers),
        "repository" => await SendAsync(server.Client, HttpMethod.Post, "/v2/repository/index", "{}", bearer, headers),
        "metrics" => await SendAsync(server.MetricsClient, HttpMethod.Get, "/metrics", null, bearer, headers),
        _ => throw new ArgumentOutOfRangeException(nameof(scope)),
    };

    [Fact]
    public async Task EachScopeIsAllowedWithItsTokenAndRefusedWithoutItOverRest()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        var log = new CapturedLog();
        await using var server = await RunningServer.StartAsync(repository.Path, s => s.AddSingleton<ILoggerProvider>(log), OneTokenPerScope("none"));

        for (var i = 0; i < Scopes.Length; i++)
        {
            var scope = Scopes[i];
            var other = Scopes[(i + 1) % Scopes.Length];
            using (var allowed = await CallAsync(server, scope, Secret(scope)))
            {
                Assert.True(allowed.StatusCode == HttpStatusCode.OK, $"{scope} with its token: {allowed.StatusCode} {await allowed.Content.ReadAsStringAsync()}");
            }
            // The API-key header is the same token in another place.
            using (var byKey = await CallAsync(server, scope, null, ("X-API-Key", Secret(scope))))
            {
                Assert.Equal(HttpStatusCode.OK, byKey.StatusCode);
            }

            using var none = await CallAsync(server, scope, null);
            Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
            Assert.StartsWith("Bearer", none.Headers.WwwAuthenticate.ToString());
            Assert.Contains($"scope '{scope}'", await none.Content.ReadAsStringAsync());

            using var wrong = await CallAsync(server, scope, "not-a-token-of-this-server");
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
            Assert.Contains("error=\"invalid_token\"", wrong.Headers.WwwAuthenticate.ToString());

            using var otherScope = await CallAsync(server, scope, Secret(other));
            Assert.Equal(HttpStatusCode.Forbidden, otherScope.StatusCode);
            Assert.Contains("error=\"insufficient_scope\"", otherScope.Headers.WwwAuthenticate.ToString());
            var error = await otherScope.Content.ReadAsStringAsync();
            Assert.Contains($"'{other}-client' does not have scope '{scope}'", error);
        }

        // Every refusal is counted, by scope and reason.
        using var scrape = await CallAsync(server, "metrics", Secret("metrics"));
        var text = await scrape.Content.ReadAsStringAsync();
        foreach (var scope in Scopes)
        {
            Assert.True(Refused(text, scope, "missing_credential") >= 1, $"{scope} missing_credential not counted:\n{text}");
            Assert.True(Refused(text, scope, "invalid_credential") >= 1, $"{scope} invalid_credential not counted");
            Assert.True(Refused(text, scope, "insufficient_scope") >= 1, $"{scope} insufficient_scope not counted");
        }
        // And logged with the credential's name, never a secret.
        var refusals = log.Entries.Where(e => e.Message.StartsWith("Refused ", StringComparison.Ordinal)).ToList();
        Assert.True(refusals.Count >= 3 * Scopes.Length, $"{refusals.Count} refusals logged");
        Assert.Contains(refusals, e => e.Message.Contains("credential 'statistics-client'", StringComparison.Ordinal) && e.Message.Contains("insufficient_scope", StringComparison.Ordinal));
        Assert.DoesNotContain(log.Entries, e => Scopes.Any(s => e.Message.Contains(Secret(s), StringComparison.Ordinal)) || e.Message.Contains("not-a-token-of-this-server", StringComparison.Ordinal));
    }

    [Fact]
    public async Task EachScopeIsAllowedWithItsTokenAndRefusedWithoutItOverGrpc()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, OneTokenPerScope("none"));
        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var health = new Health.HealthClient(channel);
        var calls = new (string Scope, Func<Metadata, Task> Call)[]
        {
            ("health", async m => Assert.True((await client.ServerLiveAsync(new ServerLiveRequest(), m)).Live)),
            ("health", async m => Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest(), m)).Status)),
            ("metadata", async m => Assert.Equal("m", (await client.ModelMetadataAsync(new ModelMetadataRequest { Name = "m" }, m)).Name)),
            ("infer", async m => Assert.Equal(2, (await client.ModelInferAsync(AddSubGrpcRequest("m"), m)).RawOutputContents.Count)),
            ("statistics", async m => Assert.NotEmpty((await client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "m" }, m)).ModelStats)),
            ("repository", async m => Assert.Contains((await client.RepositoryIndexAsync(new RepositoryIndexRequest(), m)).Models, r => r.Name == "m")),
        };
        foreach (var (scope, call) in calls)
        {
            await call(Bearer(Secret(scope)));

            var none = await Assert.ThrowsAsync<RpcException>(() => call(Bearer(null)));
            Assert.Equal(StatusCode.Unauthenticated, none.StatusCode);
            Assert.Contains($"scope '{scope}'", none.Status.Detail);
            var wrong = await Assert.ThrowsAsync<RpcException>(() => call(Bearer("not-a-token-of-this-server")));
            Assert.Equal(StatusCode.Unauthenticated, wrong.StatusCode);
            var other = scope == "infer" ? "metadata" : "infer";
            var denied = await Assert.ThrowsAsync<RpcException>(() => call(Bearer(Secret(other))));
            Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
            Assert.Contains($"does not have scope '{scope}'", denied.Status.Detail);
        }

        using var scrape = await CallAsync(server, "metrics", Secret("metrics"));
        var text = await scrape.Content.ReadAsStringAsync();
        Assert.True(Refused(text, "repository", "insufficient_scope") >= 1);
        Assert.True(Refused(text, "health", "missing_credential") >= 2);
    }

    [Fact]
    public async Task WithCredentialsConfiguredHealthStaysOpenByDefaultAndOpenScopesOpenMore()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using (var server = await RunningServer.StartAsync(repository.Path, ("Auth:Tokens:0", Entry("ci", Secret("infer"), "infer,metadata,metrics"))))
        {
            // Kubernetes probes carry no credential.
            Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/health/live")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/models/m/ready")).StatusCode);
            using var channel = GrpcChannels.For(server.Host.GrpcAddress);
            var live = await new GRPCInferenceService.GRPCInferenceServiceClient(channel).ServerLiveAsync(new ServerLiveRequest());
            Assert.True(live.Live);
            Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client.GetAsync("/v2/models/m")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await server.MetricsClient.GetAsync("/metrics")).StatusCode);
            using (var infer = await SendAsync(server.Client, HttpMethod.Post, "/v2/models/m/infer", AddSubRequest(1), Secret("infer")))
            {
                Assert.Equal(HttpStatusCode.OK, infer.StatusCode);
            }
            // A scope no credential holds is closed to everyone: 403, not a challenge that no token could meet.
            using var closed = await server.Client.PostAsync("/v2/repository/index", null);
            Assert.Equal(HttpStatusCode.Forbidden, closed.StatusCode);
        }

        await using (var server = await RunningServer.StartAsync(repository.Path, ("Auth:Tokens:0", Entry("ci", Secret("infer"), "infer")), ("Auth:OpenScopes", "health,metadata,metrics")))
        {
            Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/models/m")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await server.MetricsClient.GetAsync("/metrics")).StatusCode);
            // No credential holds statistics: closed to everyone.
            Assert.Equal(HttpStatusCode.Forbidden, (await server.Client.GetAsync("/v2/models/m/stats")).StatusCode);
        }
    }

    [Fact]
    public async Task TheStartupLogSaysWhoMayCallEachScope()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        var log = new CapturedLog();
        await using var server = await RunningServer.StartAsync(repository.Path, s => s.AddSingleton<ILoggerProvider>(log),
            ("Auth:Tokens:0", Entry("ci", Secret("infer"), "infer,metadata")), ("Logging:LogLevel:InferenceServer.Protocols.Access", "Information"));

        var lines = log.Entries.Select(e => e.Message).Where(m => m.StartsWith("Access to ", StringComparison.Ordinal)).ToList();
        Assert.Equal(6, lines.Count);
        Assert.Contains("Access to health (health): open to anyone", lines);
        Assert.Contains("Access to infer (inference, shared-memory): credentials only: token 'ci'", lines);
        Assert.Contains("Access to metadata (metadata, model-config): credentials only: token 'ci'", lines);
        Assert.Contains(lines, l => l.StartsWith("Access to repository (model-repository): refused to everyone: ", StringComparison.Ordinal));
    }

    [Fact]
    public void TheFlagsSetTheAccessSettings()
    {
        var hash = Hash("x");
        var settings = InferenceServer.Cli.CommandLine.Parse([
            "--auth-token", $"a:{hash}:infer", "--auth-token", $"b:{hash}:*", "--auth-token-file", "/etc/tokens", "--auth-open-scopes", "health,metrics",
            "--auth-api-key-header", "X-Key", "--auth-client-ca", "ca.pem", "--http-server-cert", "s.crt", "--http-server-key", "s.key",
            "--rate-limit-requests", "5", "--rate-limit-period-secs", "2", "--cors-origin", "https://app.example.com", "--cors-method", "POST", "--cors-header", "*"]);

        Assert.Equal($"a:{hash}:infer", settings["Auth:Tokens:0"]);
        Assert.Equal($"b:{hash}:*", settings["Auth:Tokens:1"]);
        Assert.Equal("/etc/tokens", settings["Auth:TokenFile"]);
        Assert.Equal("health,metrics", settings["Auth:OpenScopes"]);
        Assert.Equal("X-Key", settings["Auth:ApiKeyHeader"]);
        Assert.Equal("ca.pem", settings["Auth:ClientCertificateAuthority"]);
        Assert.Equal("s.crt", settings["Http:ServerCertificate"]);
        Assert.Equal("s.key", settings["Http:ServerKey"]);
        Assert.Equal("5", settings["RateLimit:Requests"]);
        Assert.Equal("2", settings["RateLimit:PeriodSeconds"]);
        Assert.Equal("https://app.example.com", settings["Cors:Origins:0"]);
        Assert.Equal("POST", settings["Cors:Methods:0"]);
        Assert.Equal("*", settings["Cors:Headers:0"]);
    }

    [Theory]
    [InlineData("Auth:Tokens:0", "ci:abc:infer", "Auth:Tokens:0: the hash of token 'ci' must be 64 hex digits")]
    [InlineData("Auth:Tokens:0", "ci:0000000000000000000000000000000000000000000000000000000000000000:admin", "'admin' is not a scope; expected health, metadata, infer, statistics, metrics, repository")]
    [InlineData("Auth:Tokens:0", "just-a-secret", "Auth:Tokens:0: expected <name>:<sha256-hex>:<scope>")]
    [InlineData("Auth:OpenScopes", "health,everything", "Auth:OpenScopes: 'everything' is not a scope")]
    [InlineData("Auth:ClientCertificates:0:Subject", "CN=x", "Auth:ClientCertificates needs Auth:ClientCertificateAuthority")]
    [InlineData("RateLimit:Requests", "-1", "RateLimit:Requests -1 is not valid")]
    [InlineData("Cors:Origins:0", "app.example.com", "Cors:Origins 'app.example.com' is not an origin")]
    public async Task AMalformedSettingStopsTheStartNamingIt(string key, string value, string problem)
    {
        using var repository = new TestRepository();
        var error = await Assert.ThrowsAsync<ArgumentException>(() => RunningServer.StartAsync(repository.Path, (key, value)));
        Assert.Contains(problem, error.Message);
        Assert.DoesNotContain("just-a-secret", error.Message);
    }
}
