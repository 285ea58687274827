namespace InferenceServer.Protocols.Http;

/// <summary>Header names of the v2 binary tensor extension.</summary>
internal static class InferenceHeaders
{
    /// <summary>Length of the JSON part of a body that carries binary tensors.</summary>
    public const string HeaderContentLength = "Inference-Header-Content-Length";
}
