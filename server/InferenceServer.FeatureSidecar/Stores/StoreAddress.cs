namespace InferenceServer.FeatureSidecar.Stores;

/// <summary>
/// Where the online store is, as <c>--store</c> gives it: <c>redis://HOST[:PORT]</c> (Redis, port 6379 by default) or
/// <c>file:PATH</c> (the embedded store, a file this process loads and persists).
/// </summary>
internal sealed record StoreAddress(string Text, string? RedisEndpoint, string? FilePath)
{
    private const string RedisScheme = "redis://";
    private const string FileScheme = "file:";

    /// <summary>What <c>--store</c> takes, for usage errors.</summary>
    public const string Expected = "redis://HOST[:PORT] or file:PATH";

    /// <summary>Parses <paramref name="text"/>; null with <paramref name="problem"/> saying what is wrong when it is not an address.</summary>
    public static StoreAddress? TryParse(string text, out string? problem)
    {
        problem = null;
        if (text.StartsWith(RedisScheme, StringComparison.OrdinalIgnoreCase))
        {
            var endpoint = text[RedisScheme.Length..].TrimEnd('/');
            if (endpoint.Length == 0 || endpoint.Contains('/') || endpoint.Contains('@'))
            {
                problem = $"'{text}' names no Redis host; expected {Expected}";
                return null;
            }
            var colon = endpoint.LastIndexOf(':');
            var bracketed = endpoint.EndsWith(']');
            if (colon < 0 || bracketed)
            {
                endpoint += ":6379";
            }
            else if (!ushort.TryParse(endpoint.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) || port == 0)
            {
                problem = $"'{text}' has no valid port (1 to 65535); expected {Expected}";
                return null;
            }
            return new StoreAddress(text, endpoint, null);
        }
        if (text.StartsWith(FileScheme, StringComparison.OrdinalIgnoreCase) && text.Length > FileScheme.Length)
        {
            return new StoreAddress(text, null, Path.GetFullPath(text[FileScheme.Length..]));
        }
        problem = $"'{text}' is not a store address; expected {Expected}";
        return null;
    }

    public override string ToString() => Text;
}
