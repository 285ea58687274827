namespace InferenceServer.Protocols.Http;

/// <summary>Header names of the v2 binary tensor extension.</summary>
internal static class InferenceHeaders
{
    /// <summary>Length of the JSON part of a body that carries binary tensors.</summary>
    public const string HeaderContentLength = "Inference-Header-Content-Length";

    /// <summary>
    /// On the answer to a request that waited for its model to load (on-demand mode): the wait in whole milliseconds, so a
    /// client (the load harness) can tell cold latencies from warm ones. gRPC sends it as response metadata
    /// <c>inference-cold-start-ms</c>.
    /// </summary>
    public const string ColdStartMs = "Inference-Cold-Start-Ms";

    /// <summary>The header's value: whole milliseconds, at least 0.</summary>
    public static string Milliseconds(TimeSpan wait) => ((long)Math.Max(0, wait.TotalMilliseconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
