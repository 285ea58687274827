namespace InferenceServer.Protocols.Http;

/// <summary>
/// Marks a connection accepted on the REST endpoint, so the REST front-end's middleware (compression, error bodies)
/// applies to its requests and to no other port's.
/// </summary>
internal sealed class V2ConnectionFeature
{
    public static readonly V2ConnectionFeature Instance = new();

    private V2ConnectionFeature()
    {
    }
}
