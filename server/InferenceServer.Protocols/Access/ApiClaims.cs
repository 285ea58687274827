namespace InferenceServer.Protocols.Access;

/// <summary>The claims an authenticated caller carries.</summary>
public static class ApiClaims
{
    /// <summary>One claim of this type per scope the credential grants, valued with the scope's name.</summary>
    public const string Scope = "scope";

    /// <summary>The authentication scheme that reads tokens and client certificates.</summary>
    public const string Scheme = "ApiCredential";
}
