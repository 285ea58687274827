namespace InferenceServer.Core.Routing;

/// <summary>
/// The headers of the request being routed (HTTP headers, gRPC metadata), read through the protocol's own collection
/// only when a routing policy asks for one: building a dictionary per request would cost every request what only a
/// header-driven policy needs.
/// </summary>
public readonly struct RequestHeaders
{
    private readonly object? _source;
    private readonly Func<object, string, string?>? _read;

    /// <summary>Headers read from <paramref name="source"/> by <paramref name="read"/> (a static function, so nothing is allocated per request).</summary>
    public RequestHeaders(object source, Func<object, string, string?> read)
    {
        _source = source;
        _read = read;
    }

    /// <summary>The value of header <paramref name="name"/>; null when the request has no such header (or no headers at all).</summary>
    public string? this[string name] => _read is null ? null : _read(_source!, name);
}
