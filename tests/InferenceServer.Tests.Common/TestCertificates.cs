using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace InferenceServer.Tests.Common;

/// <summary>
/// A private CA and the certificates it signs, written as PEM files to a folder: a server certificate for 127.0.0.1
/// and localhost, a client certificate, and a second CA that signed neither (to prove a wrong CA is refused).
/// </summary>
public sealed class TestCertificates
{
    private TestCertificates(string folder)
    {
        CaFile = Path.Combine(folder, "ca.pem");
        OtherCaFile = Path.Combine(folder, "other-ca.pem");
        ServerCertFile = Path.Combine(folder, "server.pem");
        ServerKeyFile = Path.Combine(folder, "server.key");
        ClientCertFile = Path.Combine(folder, "client.pem");
        ClientKeyFile = Path.Combine(folder, "client.key");
    }

    public string CaFile { get; }

    public string OtherCaFile { get; }

    public string ServerCertFile { get; }

    public string ServerKeyFile { get; }

    public string ClientCertFile { get; }

    public string ClientKeyFile { get; }

    /// <summary>Generates the CAs and certificates (EC P-256, valid from a day ago for a day) into <paramref name="folder"/>.</summary>
    public static TestCertificates Create(string folder)
    {
        Directory.CreateDirectory(folder);
        var certificates = new TestCertificates(folder);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var ca = CreateCa("CN=feature-sidecar test CA", caKey);
        File.WriteAllText(certificates.CaFile, ca.ExportCertificatePem());
        using (var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        using (var other = CreateCa("CN=feature-sidecar other CA", otherKey))
        {
            File.WriteAllText(certificates.OtherCaFile, other.ExportCertificatePem());
        }

        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        WriteLeaf(ca, "CN=127.0.0.1", names.Build(), "1.3.6.1.5.5.7.3.1", certificates.ServerCertFile, certificates.ServerKeyFile);
        WriteLeaf(ca, "CN=feature-sidecar", null, "1.3.6.1.5.5.7.3.2", certificates.ClientCertFile, certificates.ClientKeyFile);
        return certificates;
    }

    private static X509Certificate2 CreateCa(string subject, ECDsa key)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    private static void WriteLeaf(X509Certificate2 ca, string subject, X509Extension? names, string usage, string certFile, string keyFile)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usage)], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        if (names is not null)
        {
            request.CertificateExtensions.Add(names);
        }
        using var leaf = request.Create(ca, DateTimeOffset.UtcNow.AddHours(-23), DateTimeOffset.UtcNow.AddHours(23), RandomNumberGenerator.GetBytes(16));
        File.WriteAllText(certFile, leaf.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
    }
}
