using System.IO.Compression;

namespace InferenceServer.Grpc;

/// <summary>Limits and choices for every call the gRPC layer serves.</summary>
public sealed class GrpcServerOptions
{
    /// <summary>Largest request message accepted, in bytes, both as framed and after decompression; larger ones end the call with RESOURCE_EXHAUSTED. 4 MiB by default, as in other gRPC servers.</summary>
    public int MaxReceiveMessageSize { get; set; } = 4 * 1024 * 1024;

    /// <summary>Largest response message a handler may write, in bytes (before compression); larger ones end the call with RESOURCE_EXHAUSTED. Unlimited by default.</summary>
    public int MaxSendMessageSize { get; set; } = int.MaxValue;

    /// <summary>
    /// Encoding for response messages (<c>"gzip"</c>) used when the client lists it in <c>grpc-accept-encoding</c>;
    /// <see langword="null"/> (the default) sends them uncompressed.
    /// </summary>
    public string? ResponseCompression { get; set; }

    /// <summary>How hard to compress responses when <see cref="ResponseCompression"/> applies.</summary>
    public CompressionLevel ResponseCompressionLevel { get; set; } = CompressionLevel.Fastest;

    /// <summary>Time source for deadlines; tests inject a fake one.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
