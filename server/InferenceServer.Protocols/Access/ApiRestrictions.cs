namespace InferenceServer.Protocols.Access;

/// <summary>
/// Which categories of one front-end (REST or gRPC) need a header, parsed from Triton's syntax
/// <c>&lt;category&gt;,&lt;category&gt;...:&lt;key&gt;=&lt;value&gt;</c>, one group per setting; a category may be in one
/// group only. Immutable.
/// </summary>
public sealed class ApiRestrictions
{
    private readonly Dictionary<ApiCategory, ApiRestriction> _byCategory;

    private ApiRestrictions(Dictionary<ApiCategory, ApiRestriction> byCategory) => _byCategory = byCategory;

    /// <summary>No category restricted.</summary>
    public static ApiRestrictions None { get; } = new([]);

    /// <summary>True when no category is restricted (the check then costs nothing).</summary>
    public bool IsEmpty => _byCategory.Count == 0;

    /// <summary>The restriction on <paramref name="category"/>; null when it is open (or has no category).</summary>
    public ApiRestriction? For(ApiCategory? category) =>
        category is not null && _byCategory.TryGetValue(category, out var restriction) ? restriction : null;

    /// <summary>
    /// Parses <paramref name="groups"/> (the values of <paramref name="setting"/>, e.g. <c>--http-restricted-api</c>);
    /// <paramref name="known"/> are the categories this front-end has and <paramref name="header"/> turns the key into
    /// the header checked. Throws <see cref="ArgumentException"/> with one line naming the setting and what is wrong.
    /// </summary>
    public static ApiRestrictions Parse(IEnumerable<string> groups, string setting, IReadOnlyList<ApiCategory> known, Func<string, string> header)
    {
        var byCategory = new Dictionary<ApiCategory, ApiRestriction>();
        foreach (var group in groups)
        {
            if (Problem(group, known) is { } problem)
            {
                throw new ArgumentException($"{setting} '{group}': {problem}");
            }
            var colon = group.IndexOf(':', StringComparison.Ordinal);
            var credential = group[(colon + 1)..];
            var equals = credential.IndexOf('=', StringComparison.Ordinal);
            var restriction = new ApiRestriction(header(credential[..equals]), credential[(equals + 1)..]);
            foreach (var name in group[..colon].Split(','))
            {
                var category = ApiCategory.Find(name.Trim(), known)!;
                if (!byCategory.TryAdd(category, restriction))
                {
                    throw new ArgumentException($"{setting} '{group}': {category.Name} is already in another group; a category may be restricted by one group only");
                }
            }
        }
        return byCategory.Count == 0 ? None : new ApiRestrictions(byCategory);
    }

    /// <summary>What is wrong with one group's text, for a one-line usage error; null when it is well formed.</summary>
    public static string? Problem(string group, IReadOnlyList<ApiCategory> known)
    {
        var colon = group.IndexOf(':', StringComparison.Ordinal);
        var equals = colon < 0 ? -1 : group.IndexOf('=', colon + 1);
        if (colon < 0 || equals < 0)
        {
            return "expected <category>[,<category>...]:<key>=<value>";
        }
        foreach (var name in group[..colon].Split(','))
        {
            if (ApiCategory.Find(name.Trim(), known) is null)
            {
                return $"'{name.Trim()}' is not a category; expected {string.Join(", ", known)}";
            }
        }
        var key = group[(colon + 1)..equals];
        if (key.Length == 0 || key.AsSpan().IndexOfAny(" \t\r\n:") >= 0)
        {
            return "the header key must be a name without spaces or colons";
        }
        return equals == group.Length - 1 ? "the value must not be empty" : null;
    }
}
