using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using StackExchange.Redis;

namespace InferenceServer.FeatureSidecar.Stores;

/// <summary>
/// A store address as StackExchange.Redis options (user, password, database, TLS with its CA and client certificate),
/// and a failed connection attempt as one line that says what failed: the network, the credentials or TLS.
/// </summary>
internal static class RedisOptions
{
    /// <summary>
    /// The options for <paramref name="address"/>. The certificate files are read here, so that a missing or wrong file is
    /// an error naming it before any connection is tried.
    /// </summary>
    public static ConfigurationOptions Create(StoreAddress address)
    {
        var options = new ConfigurationOptions
        {
            User = address.User,
            Password = address.Password,
            DefaultDatabase = address.Database,
            Ssl = address.Tls,
        };
        if (address.UnixSocket)
        {
            options.EndPoints.Add(new UnixDomainSocketEndPoint(address.RedisEndpoint!));
        }
        else
        {
            options.EndPoints.Add(address.RedisEndpoint!);
        }
        if (!address.Tls)
        {
            return options;
        }
        // The certificate must name the host as the address gives it (a DNS name or an IP address).
        options.SslHost = address.RedisHost;
        if (address.CaFile is { } caFile)
        {
            // TrustIssuer keeps the platform's checks (host name, validity) and accepts a chain that ends at this CA
            // where the system trust store does not know it.
            options.TrustIssuer(ReadCertificate(caFile, "--store-ca"));
        }
        if (address.CertFile is { } certFile && address.KeyFile is { } keyFile)
        {
            var client = ReadClientCertificate(certFile, keyFile);
            options.CertificateSelection += (_, _, _, _, _) => client;
        }
        return options;
    }

    /// <summary>What went wrong in a failed connection attempt, as a failure kind and one line naming the store.</summary>
    public static (StoreFailure Failure, string Message) Describe(StoreAddress address, ConnectionAttemptCompletedEventArgs attempt)
    {
        var detail = attempt.Exception is { } exception ? Detail(address, exception) : "the attempt failed";
        if (attempt.Stage == ConnectionAttemptStage.Tls || attempt.ServerCertificateAccepted == false)
        {
            var errors = attempt.ServerCertificatePolicyErrors ?? SslPolicyErrors.None;
            var why = (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0
                ? $"the server's certificate does not name the host '{address.RedisHost}'"
                : (errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0
                    ? $"the server's certificate is not trusted ({attempt.ServerCertificateChainStatus}); "
                      + (address.CaFile is null ? "give the CA that signed it with --store-ca" : $"it was not signed by the CA of --store-ca {address.CaFile}")
                    : errors == SslPolicyErrors.RemoteCertificateNotAvailable
                        ? "the server sent no certificate"
                        : detail;
            return (StoreFailure.Tls, $"the TLS handshake with the Redis at {address} failed: {why}");
        }
        if (attempt.FailureType == ConnectionFailureType.AuthenticationFailure)
        {
            var who = address.User is { } user ? $"user '{user}'" : "the default user";
            var hint = address.Password is null ? " (no password was given: put it in FEATURE_SIDECAR_REDIS_PASSWORD or --store-password-file)" : "";
            return (StoreFailure.Credentials, $"the Redis at {address} refused the credentials of {who}: {detail}{hint}");
        }
        if (address.Tls && attempt.Stage >= ConnectionAttemptStage.Handshake)
        {
            // With TLS 1.3 a client certificate the server wants but does not get shows only as a closed connection here.
            var hint = address.CertFile is null ? " (does it require a client certificate? give one with --store-cert and --store-key)" : " (was the client certificate refused?)";
            return (StoreFailure.Tls, $"the Redis at {address} closed the TLS connection: {detail}{hint}");
        }
        return (StoreFailure.Unreachable, $"cannot connect to the Redis at {address}: {detail}");
    }

    /// <summary>An exception's innermost message on one line, the password hidden.</summary>
    public static string Detail(StoreAddress address, Exception exception)
    {
        var innermost = exception;
        while (innermost.InnerException is { } inner)
        {
            innermost = inner;
        }
        return address.Scrub(innermost.Message.ReplaceLineEndings(" ").Trim());
    }

    private static X509Certificate2 ReadCertificate(string path, string flag)
    {
        try
        {
            return X509Certificate2.CreateFromPem(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StoreException($"cannot read {flag} {path}: {e.Message}", e);
        }
        catch (CryptographicException e)
        {
            throw new StoreException($"{flag} {path} is not a PEM certificate (-----BEGIN CERTIFICATE-----): {e.Message}", e);
        }
    }

    private static X509Certificate2 ReadClientCertificate(string certFile, string keyFile)
    {
        try
        {
            return X509Certificate2.CreateFromPemFile(certFile, keyFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StoreException($"cannot read --store-cert {certFile} or --store-key {keyFile}: {e.Message}", e);
        }
        catch (CryptographicException e)
        {
            throw new StoreException(
                $"--store-cert {certFile} and --store-key {keyFile} are not a PEM certificate and its private key (PKCS#8, RSA or EC): {e.Message}", e);
        }
    }
}
