using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace InferenceServer.FunctionalTests.Access;

/// <summary>Certificates made for a test with CertificateRequest, written as PEM files into a temporary folder.</summary>
internal sealed class TestCertificates : IDisposable
{
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("access-tls-").FullName;

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);

    public string PathOf(string name) => Path.Combine(Directory, name);

    /// <summary>A self-signed server certificate for 127.0.0.1 and localhost, written to <paramref name="name"/>.crt and .key.</summary>
    public X509Certificate2 WriteServer(string name, string subject = "CN=localhost")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        Write(name, certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
        return certificate;
    }

    /// <summary>A CA certificate (with its key), written to <paramref name="name"/>.crt.</summary>
    public X509Certificate2 WriteAuthority(string name, string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var authority = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(PathOf(name + ".crt"), authority.ExportCertificatePem());
        return authority;
    }

    /// <summary>A client certificate (with its private key) for <paramref name="subject"/>, issued by <paramref name="authority"/>.</summary>
    public static X509Certificate2 IssueClient(X509Certificate2 authority, string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        var serial = RandomNumberGenerator.GetBytes(8);
        using var issued = request.Create(authority, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(12), serial);
        using var withKey = issued.CopyWithPrivateKey(key);
        // Through PKCS#12, so the TLS stack gets a certificate whose key it can use on every platform.
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>
    /// A handler that trusts the server certificates whose hash <paramref name="trust"/> accepts (recording the hash each
    /// new connection is shown in <paramref name="presented"/>) and offers <paramref name="client"/>, if any.
    /// </summary>
    public static SocketsHttpHandler Handler(Func<string, bool> trust, X509Certificate2? client = null, Action<string>? presented = null)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, remote, _, _) =>
        {
            if (remote is null)
            {
                return false;
            }
            var hash = remote.GetCertHashString();
            presented?.Invoke(hash);
            return trust(hash);
        };
        if (client is not null)
        {
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => client;
        }
        return handler;
    }

    private void Write(string name, string certificate, string key)
    {
        // The key first and the certificate last, as a renewal script would; the server waits for the files to settle.
        File.WriteAllText(PathOf(name + ".key"), key);
        File.WriteAllText(PathOf(name + ".crt"), certificate);
    }
}
