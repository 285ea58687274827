using Microsoft.AspNetCore.Authorization;

namespace InferenceServer.Protocols.Access;

/// <summary>
/// The one requirement of the server's authorization policy: the caller may call the scope of the endpoint it reached
/// (open to anyone, or granted to its credential). One policy serves every category because the category is already
/// the endpoint's metadata; the policy reads it rather than each route repeating it.
/// </summary>
internal sealed class ApiScopeRequirement : IAuthorizationRequirement
{
    public static readonly ApiScopeRequirement Instance = new();

    private ApiScopeRequirement()
    {
    }
}
