namespace InferenceServer.Protocols.Access;

/// <summary>
/// CORS for the REST endpoint (configuration section <c>Cors</c>), off by default: browsers on <see cref="Origins"/> may
/// call it, with <see cref="Methods"/> and <see cref="Headers"/>. gRPC is not for browsers and gets none.
/// </summary>
public sealed class CrossOriginOptions
{
    /// <summary><c>--cors-origin</c>: origins allowed (<c>https://app.example.com</c>), or <c>*</c> for any; empty switches CORS off.</summary>
    public List<string> Origins { get; set; } = [];

    /// <summary><c>--cors-method</c>: methods allowed; empty: GET and POST, all the v2 API uses.</summary>
    public List<string> Methods { get; set; } = [];

    /// <summary>
    /// <c>--cors-header</c>: request headers allowed, or <c>*</c>; empty: Content-Type, Content-Encoding, Authorization,
    /// the API-key header and Inference-Header-Content-Length.
    /// </summary>
    public List<string> Headers { get; set; } = [];

    /// <summary>How long a browser may cache a preflight answer, in seconds.</summary>
    public int MaxAgeSeconds { get; set; } = 600;

    /// <summary>Whether CORS is on.</summary>
    public bool Enabled => Origins.Count > 0;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting that is wrong.</summary>
    public void Validate()
    {
        foreach (var origin in Origins)
        {
            if (origin != "*" && !(Uri.TryCreate(origin, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.AbsolutePath == "/" && string.Equals(origin.TrimEnd('/'), uri.GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase)))
            {
                throw new ArgumentException($"Cors:Origins '{origin}' is not an origin; expected scheme://host[:port] (e.g. https://app.example.com) or *");
            }
        }
        if (MaxAgeSeconds < 0)
        {
            throw new ArgumentException($"Cors:MaxAgeSeconds {MaxAgeSeconds} is not valid; expected 0 or more");
        }
    }
}
