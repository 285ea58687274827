namespace InferenceServer.Protocols.Grpc;

/// <summary>Settings of the gRPC front-end (configuration section <c>Grpc</c>).</summary>
public sealed class GrpcProtocolOptions
{
    /// <summary>Largest request message accepted (framed, and after decompression); larger ones get RESOURCE_EXHAUSTED. Large enough for a batch of images by default, like the REST body limit.</summary>
    public int MaxReceiveMessageBytes { get; set; } = 256 * 1024 * 1024;

    /// <summary>Largest response message sent; a larger one ends its call with RESOURCE_EXHAUSTED. Unlimited by default.</summary>
    public int MaxSendMessageBytes { get; set; } = int.MaxValue;

    /// <summary><c>gzip</c> to compress responses for clients that accept it; empty (the default) sends them uncompressed. Compressed requests are always accepted.</summary>
    public string? ResponseCompression { get; set; }
}
