using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using InferenceServer.Protocols.Grpc.Messages;

namespace InferenceServer.FunctionalTests.Grpc;

/// <summary>The gRPC endpoint over TLS (HTTP/2 negotiated by ALPN) when a PEM certificate and key are configured.</summary>
public sealed class GrpcTlsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("grpc-tls-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Serves_grpc_over_tls_with_the_configured_certificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var certificatePath = Path.Combine(_directory, "server.crt");
        var keyPath = Path.Combine(_directory, "server.key");
        await File.WriteAllTextAsync(certificatePath, certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(keyPath, key.ExportPkcs8PrivateKeyPem());

        using var repository = new TestRepository();
        repository.AddSample("simple");
        await using var server = await RunningServer.StartAsync(repository.Path, ("Grpc:ServerCertificate", certificatePath), ("Grpc:ServerKey", keyPath));
        Assert.Equal("https", server.Host.GrpcAddress.Scheme);

        string? presented = null;
        Version? version = null;
        var recorder = new VersionRecorder(new SocketsHttpHandler
        {
            SslOptions =
            {
                RemoteCertificateValidationCallback = (_, remote, _, _) =>
                {
                    presented = remote?.GetCertHashString();
                    return presented == certificate.GetCertHashString();
                },
            },
        }, v => version = v);
        using var channel = GrpcChannels.For(server.Host.GrpcAddress, o => o.HttpHandler = recorder);
        var live = await new GRPCInferenceService.GRPCInferenceServiceClient(channel).ServerLiveAsync(new ServerLiveRequest());

        Assert.Equal(certificate.GetCertHashString(), presented);
        Assert.Equal(HttpVersion.Version20, version);
        Assert.True(live.Live);
    }

    /// <summary>Notes the HTTP version each response came with, which the gRPC client does not show.</summary>
    private sealed class VersionRecorder(HttpMessageHandler inner, Action<Version> seen) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            seen(response.Version);
            return response;
        }
    }

    [Fact]
    public async Task A_certificate_without_its_key_is_a_clear_startup_error()
    {
        using var repository = new TestRepository();
        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            RunningServer.StartAsync(repository.Path, ("Grpc:ServerCertificate", Path.Combine(_directory, "missing.crt"))));
        Assert.Contains("Grpc:ServerKey", error.Message);
    }
}
