using System.Buffers;
using System.IO.Compression;

namespace InferenceServer.Grpc;

/// <summary>The message encodings this layer understands: <c>identity</c> and <c>gzip</c>, one compression context per message as the protocol requires.</summary>
internal static class GrpcCompression
{
    public const string Identity = "identity";
    public const string Gzip = "gzip";

    /// <summary>The value of <c>grpc-accept-encoding</c> sent on every response.</summary>
    public const string AcceptEncoding = "identity,gzip";

    public static bool IsIdentity(string? encoding) => string.IsNullOrEmpty(encoding) || encoding == Identity;

    /// <summary>Whether a <c>grpc-accept-encoding</c> value lists <paramref name="encoding"/>.</summary>
    public static bool Accepts(string? acceptEncoding, string encoding)
    {
        if (string.IsNullOrEmpty(acceptEncoding))
        {
            return false;
        }
        foreach (var range in acceptEncoding.AsSpan().Split(','))
        {
            if (acceptEncoding.AsSpan(range).Trim().Equals(encoding, StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Inflates a gzip message into <paramref name="buffer"/> (rented from the shared pool, grown as needed; the caller
    /// returns it) and answers its length; RESOURCE_EXHAUSTED as soon as the output passes <paramref name="maxSize"/>,
    /// so a small message that inflates enormously is never held whole.
    /// </summary>
    public static int Decompress(in ReadOnlySequence<byte> compressed, int maxSize, ref byte[] buffer)
    {
        var length = 0;
        try
        {
            using var gzip = new GZipStream(new ReadOnlySequenceStream(compressed), CompressionMode.Decompress);
            while (true)
            {
                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(Array.MaxLength, Math.Max(4096L, buffer.Length * 2L)));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    if (buffer.Length > 0)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                    }
                    buffer = larger;
                }
                var read = gzip.Read(buffer, length, buffer.Length - length);
                if (read == 0)
                {
                    break;
                }
                length += read;
                if (length > maxSize)
                {
                    throw new GrpcStatusException(GrpcStatusCode.ResourceExhausted, $"Request message decompresses to more than the limit of {maxSize} bytes.");
                }
            }
        }
        catch (InvalidDataException e)
        {
            throw new GrpcStatusException(GrpcStatusCode.Internal, "Failed to decompress a gzip request message.", e);
        }
        return length;
    }

    /// <summary>Deflates <paramref name="data"/> as one gzip member appended to <paramref name="destination"/>.</summary>
    public static void Compress(ReadOnlySpan<byte> data, IBufferWriter<byte> destination, CompressionLevel level)
    {
        using var gzip = new GZipStream(new BufferWriterStream(destination), level, leaveOpen: false);
        gzip.Write(data);
    }
}
