namespace InferenceServer.Protocols.Access;

/// <summary>A set of <see cref="ApiScope"/>s, as a credential holds them or a setting opens them. Immutable.</summary>
public readonly record struct ApiScopes
{
    private readonly int _bits;

    private ApiScopes(int bits) => _bits = bits;

    /// <summary>No scope.</summary>
    public static ApiScopes None => default;

    /// <summary>Every scope.</summary>
    public static ApiScopes Every { get; } = Of(ApiScope.All);

    /// <summary>True when the set holds no scope.</summary>
    public bool IsEmpty => _bits == 0;

    /// <summary>Whether <paramref name="scope"/> is in the set.</summary>
    public bool Contains(ApiScope scope) => (_bits & scope.Bit) != 0;

    /// <summary>This set with <paramref name="scope"/>.</summary>
    public ApiScopes With(ApiScope scope) => new(_bits | scope.Bit);

    /// <summary>This set without <paramref name="scope"/>.</summary>
    public ApiScopes Without(ApiScope scope) => new(_bits & ~scope.Bit);

    /// <summary>The set of <paramref name="scopes"/>.</summary>
    public static ApiScopes Of(IEnumerable<ApiScope> scopes)
    {
        var set = None;
        foreach (var scope in scopes)
        {
            set = set.With(scope);
        }
        return set;
    }

    /// <summary>
    /// Parses a comma-separated list of scope names (<c>infer,metadata</c>), <c>*</c> for every scope, or <c>none</c>
    /// (or nothing) for none; throws <see cref="ArgumentException"/> naming <paramref name="setting"/> and the valid names.
    /// </summary>
    public static ApiScopes Parse(string? text, string setting)
    {
        var set = None;
        if (string.IsNullOrWhiteSpace(text) || text.Trim() == "none")
        {
            return set;
        }
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (part == ApiScope.Every)
            {
                set = Every;
            }
            else if (ApiScope.Find(part) is { } scope)
            {
                set = set.With(scope);
            }
            else
            {
                throw new ArgumentException($"{setting}: '{part}' is not a scope; expected {Names(Every)}, '*' (every scope) or 'none'");
            }
        }
        return set;
    }

    /// <summary>The names of the scopes in <paramref name="set"/>, comma-separated, in <see cref="ApiScope.All"/>'s order.</summary>
    public static string Names(ApiScopes set)
    {
        var names = new List<string>(ApiScope.All.Count);
        foreach (var scope in ApiScope.All)
        {
            if (set.Contains(scope))
            {
                names.Add(scope.Name);
            }
        }
        return names.Count == 0 ? "none" : string.Join(", ", names);
    }

    /// <inheritdoc />
    public override string ToString() => Names(this);
}
