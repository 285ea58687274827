using System.IO.Compression;
using Grpc.Net.Compression;
using InferenceServer.Protocols.Buffers;

namespace InferenceServer.Protocols.Grpc;

/// <summary>
/// One of Grpc.AspNetCore's compression providers (gzip, deflate) whose decompression stops as soon as a request
/// message inflates past the receive limit. Grpc.AspNetCore checks the limit against the compressed frame only and then
/// inflates the whole message into memory, so a small message that inflates enormously would otherwise be held whole;
/// the inflated bytes also count in the server's body budget.
/// </summary>
internal sealed class BoundedDecompressionProvider(ICompressionProvider inner, int maxBytes, RequestBodyBudget budget) : ICompressionProvider
{
    public string EncodingName => inner.EncodingName;

    public Stream CreateCompressionStream(Stream stream, CompressionLevel? compressionLevel) =>
        inner.CreateCompressionStream(stream, compressionLevel);

    public Stream CreateDecompressionStream(Stream stream) =>
        new BoundedInflateStream(inner.CreateDecompressionStream(stream), maxBytes, inner.EncodingName, budget);
}
