namespace InferenceServer.Protocols.Http;

/// <summary>Settings of the REST front-end (configuration section <c>Http</c>).</summary>
public sealed class HttpProtocolOptions
{
    /// <summary>Largest request body accepted; larger ones get 413. Large enough for a batch of images by default.</summary>
    public long MaxRequestBodyBytes { get; set; } = 256L * 1024 * 1024;
}
