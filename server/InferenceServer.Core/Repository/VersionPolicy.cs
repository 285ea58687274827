namespace InferenceServer.Core.Repository;

/// <summary>Which versions of a model are served (<c>version_policy</c>).</summary>
public sealed record VersionPolicy
{
    /// <summary>Triton's default: <c>latest { num_versions: 1 }</c>.</summary>
    public static readonly VersionPolicy Default = new() { Kind = VersionPolicyKind.Latest, NumVersions = 1 };

    /// <summary>Which of the three forms.</summary>
    public required VersionPolicyKind Kind { get; init; }

    /// <summary><c>latest.num_versions</c>.</summary>
    public int NumVersions { get; init; } = 1;

    /// <summary><c>specific.versions</c>.</summary>
    public IReadOnlyList<long> Versions { get; init; } = [];

    /// <summary>Chooses, from the versions present on disk, the ones this policy serves.</summary>
    public IReadOnlyList<long> Select(IReadOnlyCollection<long> available)
    {
        var sorted = available.Order().ToList();
        return Kind switch
        {
            VersionPolicyKind.All => sorted,
            VersionPolicyKind.Specific => sorted.Where(Versions.Contains).ToList(),
            _ => sorted.Skip(Math.Max(0, sorted.Count - NumVersions)).ToList(),
        };
    }
}
