using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace InferenceServer.Protocols.Access;

/// <summary>One restricted group's credential: the request header that must carry <see cref="Value"/>.</summary>
public sealed class ApiRestriction
{
    private readonly byte[] _value;

    /// <summary>Creates the restriction; <paramref name="header"/> is the header (or gRPC metadata key) checked.</summary>
    public ApiRestriction(string header, string value)
    {
        Header = header;
        _value = Encoding.UTF8.GetBytes(value);
    }

    /// <summary>The header (gRPC: metadata key) a request must carry.</summary>
    public string Header { get; }

    /// <summary>True when <paramref name="headers"/> carry the header once, with the configured value.</summary>
    public bool Allows(IHeaderDictionary headers)
    {
        var presented = headers[Header];
        return Allows(presented.Count == 1 ? presented[0] : null);
    }

    /// <summary>True when <paramref name="presented"/> is the configured value.</summary>
    public bool Allows(string? presented)
    {
        if (presented is null)
        {
            return false;
        }
        // In constant time for equal lengths, so a caller cannot learn the value a byte at a time from response timings.
        var bytes = Encoding.UTF8.GetBytes(presented);
        return CryptographicOperations.FixedTimeEquals(bytes, _value);
    }

    /// <summary>The error a refused request gets: it names the group and the header, never the value.</summary>
    public string Denial(ApiCategory category) =>
        $"the {category.Name} API is restricted on this server: the request must carry the header '{Header}' with the value the server was started with";
}
