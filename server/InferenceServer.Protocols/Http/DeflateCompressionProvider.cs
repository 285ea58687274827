using System.IO.Compression;
using Microsoft.AspNetCore.ResponseCompression;

namespace InferenceServer.Protocols.Http;

/// <summary>
/// <c>Content-Encoding: deflate</c> for ASP.NET Core's response compression, which ships only gzip and brotli. HTTP's
/// "deflate" is the zlib format (RFC 1950) around deflate data, which is what Triton sends and what Triton's client
/// undoes with <c>zlib.decompress</c>; raw deflate (<see cref="DeflateStream"/>) would not decode there.
/// </summary>
internal sealed class DeflateCompressionProvider : ICompressionProvider
{
    public string EncodingName => "deflate";

    public bool SupportsFlush => true;

    // Fastest, as ASP.NET's gzip provider defaults to: tensor data compresses little, and latency is what a client pays.
    public Stream CreateStream(Stream outputStream) => new ZLibStream(outputStream, CompressionLevel.Fastest, leaveOpen: true);
}
