using System.Security.Cryptography;

namespace InferenceServer.Core.Routing;

/// <summary>
/// Request ids the server gives requests that came without one, on routes that join outcomes to requests: feedback
/// must be able to name the request. A counter is unique within the process; the random prefix keeps ids of a
/// restarted server, or of another replica behind the same balancer, from repeating earlier ones.
/// </summary>
internal static class GeneratedRequestIds
{
    private static readonly string Prefix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));

    private static long _next;

    /// <summary>A new id: the process's prefix, '-', and a number no other id of this process has.</summary>
    public static string Next() => $"{Prefix}-{Interlocked.Increment(ref _next)}";
}
