namespace InferenceServer.Tests.Common;

/// <summary>How a test's <see cref="RedisServer"/> guards itself: a password, ACL users, TLS.</summary>
public sealed record RedisServerOptions
{
    /// <summary>The default user's password (<c>requirepass</c>); none when null.</summary>
    public string? Password { get; init; }

    /// <summary>ACL users, each as its <c>user</c> directive's rules, e.g. <c>app on &gt;secret ~* +@all</c>.</summary>
    public IReadOnlyList<string> Users { get; init; } = [];

    /// <summary>TLS only (no plain port) with these certificates; plain TCP when null.</summary>
    public TestCertificates? Tls { get; init; }

    /// <summary>With <see cref="Tls"/>: whether Redis asks every client for a certificate signed by the test CA (<c>tls-auth-clients</c>).</summary>
    public bool RequireClientCertificates { get; init; }
}
