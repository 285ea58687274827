namespace InferenceServer.Core.Repository;

/// <summary>The forms of <c>version_policy</c>.</summary>
public enum VersionPolicyKind
{
    /// <summary><c>latest</c>.</summary>
    Latest,
    /// <summary><c>all</c>.</summary>
    All,
    /// <summary><c>specific</c>.</summary>
    Specific,
}
