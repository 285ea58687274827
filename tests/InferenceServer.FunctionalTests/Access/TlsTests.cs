using System.Net;
using Grpc.Core;
using InferenceServer.FunctionalTests.Grpc;
using InferenceServer.Protocols.Grpc.Messages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static InferenceServer.FunctionalTests.Access.AccessClient;
using static InferenceServer.FunctionalTests.Lifecycle.Lifecycle;

namespace InferenceServer.FunctionalTests.Access;

/// <summary>
/// REST, metrics and gRPC over TLS with PEM files, a renewed certificate served to new connections without a restart
/// (one mechanism for every endpoint), and mutual TLS mapping a client certificate's subject to scopes.
/// </summary>
public sealed class TlsTests : IDisposable
{
    private readonly TestCertificates _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public async Task RestMetricsAndGrpcServeTheCertificateAndANewOneOnceTheFilesChange()
    {
        using var first = _files.WriteServer("server");
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        var log = new CapturedLog();
        await using var server = await RunningServer.StartAsync(repository.Path, s => s.AddSingleton<ILoggerProvider>(log),
            ("Http:ServerCertificate", _files.PathOf("server.crt")), ("Http:ServerKey", _files.PathOf("server.key")),
            ("Grpc:ServerCertificate", _files.PathOf("server.crt")), ("Grpc:ServerKey", _files.PathOf("server.key")),
            ("Logging:LogLevel:InferenceServer.Protocols.Access", "Information"));
        Assert.Equal("https", server.Host.HttpAddress.Scheme);
        Assert.Equal("https", server.Host.MetricsAddress.Scheme);

        Assert.Equal(first.GetCertHashString(), await PresentedAsync(server.Host.HttpAddress, "/v2/health/ready"));
        Assert.Equal(first.GetCertHashString(), await PresentedAsync(server.Host.MetricsAddress, "/metrics"));
        Assert.Equal(first.GetCertHashString(), await PresentedOverGrpcAsync(server.Host.GrpcAddress));

        using var renewed = _files.WriteServer("server", "CN=renewed");
        await EventuallyAsync(async () => await PresentedAsync(server.Host.HttpAddress, "/v2/health/ready") == renewed.GetCertHashString(), "REST presenting the renewed certificate");
        Assert.Equal(renewed.GetCertHashString(), await PresentedAsync(server.Host.MetricsAddress, "/metrics"));
        Assert.Equal(renewed.GetCertHashString(), await PresentedOverGrpcAsync(server.Host.GrpcAddress));

        // A file that does not parse keeps the certificate in use, and says so.
        await File.WriteAllTextAsync(_files.PathOf("server.crt"), "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
        await EventuallyAsync(() => Task.FromResult(log.Entries.Any(e => e.Message.StartsWith("Could not reload the HTTP TLS certificate", StringComparison.Ordinal))), "the failed reload logged");
        Assert.Equal(renewed.GetCertHashString(), await PresentedAsync(server.Host.HttpAddress, "/v2/health/ready"));
    }

    [Fact]
    public async Task AClientCertificateSubjectIsMappedToItsScopesOverRestAndGrpc()
    {
        using var serverCertificate = _files.WriteServer("server");
        using var authority = _files.WriteAuthority("clients-ca", "CN=Test Client CA");
        using var stranger = _files.WriteAuthority("other-ca", "CN=Other CA");
        using var client = TestCertificates.IssueClient(authority, "CN=batch-client, O=Example");
        using var unknown = TestCertificates.IssueClient(authority, "CN=someone-else");
        using var forged = TestCertificates.IssueClient(stranger, "CN=batch-client, O=Example");
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path,
            ("Http:ServerCertificate", _files.PathOf("server.crt")), ("Http:ServerKey", _files.PathOf("server.key")),
            ("Grpc:ServerCertificate", _files.PathOf("server.crt")), ("Grpc:ServerKey", _files.PathOf("server.key")),
            ("Auth:ClientCertificateAuthority", _files.PathOf("clients-ca.crt")),
            ("Auth:ClientCertificates:0:Subject", "CN=batch-client, O=Example"), ("Auth:ClientCertificates:0:Scopes", "infer,metadata"),
            ("Auth:OpenScopes", "health,metrics"));
        var trusted = serverCertificate.GetCertHashString();
        bool Trust(string hash) => hash == trusted;

        using (var http = new HttpClient(TestCertificates.Handler(Trust, client)) { BaseAddress = server.Host.HttpAddress })
        {
            using var infer = await SendAsync(http, HttpMethod.Post, "/v2/models/m/infer", AddSubRequest(1));
            Assert.Equal(HttpStatusCode.OK, infer.StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v2/models/m")).StatusCode);
            using var repositoryIndex = await http.PostAsync("/v2/repository/index", null);
            Assert.Equal(HttpStatusCode.Forbidden, repositoryIndex.StatusCode);
            Assert.Contains("'CN=batch-client, O=Example' does not have scope 'repository'", await repositoryIndex.Content.ReadAsStringAsync());
        }
        // A certificate of the CA whose subject is not mapped authenticates nothing; without one, a credential is missing.
        using (var http = new HttpClient(TestCertificates.Handler(Trust, unknown)) { BaseAddress = server.Host.HttpAddress })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/v2/models/m")).StatusCode);
        }
        using (var http = new HttpClient(TestCertificates.Handler(Trust)) { BaseAddress = server.Host.HttpAddress })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/v2/models/m")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v2/health/ready")).StatusCode);
        }
        // The same subject from another CA fails the handshake.
        using (var http = new HttpClient(TestCertificates.Handler(Trust, forged)) { BaseAddress = server.Host.HttpAddress })
        {
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => http.GetAsync("/v2/models/m"));
        }

        using (var channel = GrpcChannels.For(server.Host.GrpcAddress, o => o.HttpHandler = TestCertificates.Handler(Trust, client)))
        {
            var grpc = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
            Assert.Equal(2, (await grpc.ModelInferAsync(AddSubGrpcRequest("m"))).RawOutputContents.Count);
            var denied = await Assert.ThrowsAsync<RpcException>(() => grpc.RepositoryIndexAsync(new RepositoryIndexRequest()).ResponseAsync);
            Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
        }

        using var scrape = new HttpClient(TestCertificates.Handler(Trust)) { BaseAddress = server.Host.MetricsAddress };
        var text = await scrape.GetStringAsync("/metrics");
        Assert.True(Refused(text, "connection", "untrusted_certificate") >= 1, text);
        Assert.True(Refused(text, "repository", "insufficient_scope") >= 2);
    }

    [Fact]
    public async Task MutualTlsNeedsTlsAndACertificateNeedsItsKey()
    {
        using var repository = new TestRepository();
        _files.WriteAuthority("ca", "CN=CA");
        var noTls = await Assert.ThrowsAsync<ArgumentException>(() => RunningServer.StartAsync(repository.Path, ("Auth:ClientCertificateAuthority", _files.PathOf("ca.crt"))));
        Assert.Contains("--auth-client-ca) needs TLS", noTls.Message);
        var noKey = await Assert.ThrowsAsync<ArgumentException>(() => RunningServer.StartAsync(repository.Path, ("Http:ServerCertificate", _files.PathOf("ca.crt"))));
        Assert.Contains("Http:ServerKey", noKey.Message);
    }

    // The certificate a new connection to address is shown.
    private static async Task<string?> PresentedAsync(Uri address, string path)
    {
        string? presented = null;
        using var client = new HttpClient(TestCertificates.Handler(_ => true, presented: hash => presented = hash)) { BaseAddress = address };
        using var response = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return presented;
    }

    private static async Task<string?> PresentedOverGrpcAsync(Uri address)
    {
        string? presented = null;
        using var channel = GrpcChannels.For(address, o => o.HttpHandler = TestCertificates.Handler(_ => true, presented: hash => presented = hash));
        Assert.True((await new GRPCInferenceService.GRPCInferenceServiceClient(channel).ServerLiveAsync(new ServerLiveRequest())).Live);
        return presented;
    }
}
