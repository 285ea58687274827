using System.Security.Cryptography;
using System.Text;

namespace InferenceServer.Protocols.Access;

/// <summary>
/// One configured token: a name (what logs, metrics and rate limits call its holder), the SHA-256 of the secret (the
/// secret itself is never configured) and the scopes it grants. Written <c>name:sha256-hex:scope,scope</c>.
/// </summary>
public sealed class ApiToken
{
    private readonly byte[] _hash;

    private ApiToken(string name, byte[] hash, ApiScopes scopes)
    {
        Name = name;
        _hash = hash;
        Scopes = scopes;
    }

    /// <summary>Who holds the token, e.g. <c>ci</c>.</summary>
    public string Name { get; }

    /// <summary>What the token may call.</summary>
    public ApiScopes Scopes { get; }

    /// <summary>The SHA-256 of <paramref name="secret"/>'s UTF-8 bytes, as 64 lower-case hex digits (what a token entry holds).</summary>
    public static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    /// <summary>
    /// True when <paramref name="presentedHash"/> (the SHA-256 of a presented secret) is this token's. In constant time,
    /// so response timings tell a caller nothing about how much of a guess was right.
    /// </summary>
    public bool Matches(ReadOnlySpan<byte> presentedHash) => CryptographicOperations.FixedTimeEquals(presentedHash, _hash);

    /// <summary>True when <paramref name="other"/> has the same secret.</summary>
    internal bool SameSecret(ApiToken other) => Matches(other._hash);

    /// <summary>
    /// Parses <c>name:sha256-hex:scopes</c>; throws <see cref="ArgumentException"/> starting with <paramref name="where"/>
    /// (the setting or the file and line) and saying what is wrong, never repeating the entry.
    /// </summary>
    public static ApiToken Parse(string entry, string where)
    {
        var parts = entry.Split(':', StringSplitOptions.TrimEntries);
        if (parts.Length != 3)
        {
            throw new ArgumentException($"{where}: expected <name>:<sha256-hex>:<scope>[,<scope>...]");
        }
        var (name, hex, scopes) = (parts[0], parts[1], parts[2]);
        if (name.Length == 0 || name.AsSpan().IndexOfAny(" \t,") >= 0)
        {
            throw new ArgumentException($"{where}: the token's name must not be empty or hold spaces or commas");
        }
        if (hex.Length != 64 || !IsHex(hex))
        {
            throw new ArgumentException($"{where}: the hash of token '{name}' must be 64 hex digits (the SHA-256 of the token, e.g. from sha256sum), not the token itself");
        }
        var set = ApiScopes.Parse(scopes, $"{where}: token '{name}'");
        if (set.IsEmpty)
        {
            throw new ArgumentException($"{where}: token '{name}' grants no scope; expected at least one of {ApiScopes.Names(ApiScopes.Every)} or '*'");
        }
        return new ApiToken(name, Convert.FromHexString(hex), set);
    }

    private static bool IsHex(string text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }
        return true;
    }
}
