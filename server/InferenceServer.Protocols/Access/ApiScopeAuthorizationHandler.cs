using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;

namespace InferenceServer.Protocols.Access;

/// <summary>Meets <see cref="ApiScopeRequirement"/> when the request's scope is open, or the caller holds it (a scope claim).</summary>
internal sealed class ApiScopeAuthorizationHandler(ServerAccess access) : AuthorizationHandler<ApiScopeRequirement, HttpContext>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ApiScopeRequirement requirement, HttpContext resource)
    {
        var scope = ServerAccess.ScopeOf(resource);
        if (scope is null || access.IsOpen(scope) || context.User.HasClaim(ApiClaims.Scope, scope.Name))
        {
            context.Succeed(requirement);
        }
        return Task.CompletedTask;
    }
}
