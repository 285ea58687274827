using System.IO.Compression;

namespace InferenceServer.Core.Scoring;

/// <summary>
/// The page codecs the page reader decompresses, by their numbers in the Parquet specification's
/// <c>CompressionCodec</c>: UNCOMPRESSED, SNAPPY (Snappier), GZIP and BROTLI (System.IO.Compression), ZSTD
/// (ZstdSharp) and LZ4_RAW (K4os): the libraries Parquet.Net itself decompresses with. LZO and the Hadoop-framed LZ4
/// are not: such a chunk is read whole by Parquet.Net.
/// </summary>
internal static class ParquetCodecs
{
    public const int Uncompressed = 0;
    public const int Snappy = 1;
    public const int Gzip = 2;
    public const int Brotli = 4;
    public const int Zstd = 6;
    public const int Lz4Raw = 7;

    public static bool IsSupported(int codec) => codec is Uncompressed or Snappy or Gzip or Brotli or Zstd or Lz4Raw;

    public static string Describe(int codec) => codec switch
    {
        Uncompressed => "UNCOMPRESSED",
        Snappy => "SNAPPY",
        Gzip => "GZIP",
        3 => "LZO",
        Brotli => "BROTLI",
        5 => "LZ4",
        Zstd => "ZSTD",
        Lz4Raw => "LZ4_RAW",
        _ => $"codec {codec}",
    };

    // Hands Snappier the target's memory: part of a page array the caller owns, never grown past it.
    private sealed class FixedBufferWriter(Memory<byte> target) : System.Buffers.IBufferWriter<byte>
    {
        public int Written { get; private set; }

        public void Advance(int count)
        {
            if (count < 0 || count > target.Length - Written)
            {
                throw new InvalidDataException($"the page decompresses past the {target.Length} bytes its header gives");
            }
            Written += count;
        }

        public Memory<byte> GetMemory(int sizeHint = 0) => sizeHint <= target.Length - Written
            ? target[Written..]
            : throw new InvalidDataException($"the page decompresses past the {target.Length} bytes its header gives");

        public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
    }

    /// <summary>Decompresses <paramref name="source"/> into exactly <paramref name="target"/>'s length.</summary>
    /// <exception cref="InvalidDataException">The bytes do not decompress to that length.</exception>
    public static void Decompress(int codec, byte[] source, int sourceLength, Memory<byte> target)
    {
        int written;
        switch (codec)
        {
            case Snappy:
                if (Snappier.Snappy.GetUncompressedLength(source.AsSpan(0, sourceLength)) != target.Length)
                {
                    written = -1;
                    break;
                }
                // Through a buffer writer over the page: Snappier then decompresses into the page itself. Its span
                // overload decompresses into a buffer of the page's size rented from the shared array pool and copies
                // it out, which held every page twice and left page-sized arrays cached in that pool (a 1M-row row
                // group ran out of a 128 MB heap so).
                var into = new FixedBufferWriter(target);
                Snappier.Snappy.Decompress(new System.Buffers.ReadOnlySequence<byte>(source, 0, sourceLength), into);
                written = into.Written;
                break;
            case Gzip:
                {
                    using var gzip = new GZipStream(new MemoryStream(source, 0, sourceLength, writable: false), CompressionMode.Decompress);
                    written = gzip.ReadAtLeast(target.Span, target.Length, throwOnEndOfStream: false);
                    break;
                }
            case Brotli:
                written = BrotliDecoder.TryDecompress(source.AsSpan(0, sourceLength), target.Span, out var brotli) ? brotli : -1;
                break;
            case Zstd:
                {
                    using var zstd = new ZstdSharp.Decompressor();
                    written = zstd.Unwrap(source.AsSpan(0, sourceLength), target.Span);
                    break;
                }
            case Lz4Raw:
                written = K4os.Compression.LZ4.LZ4Codec.Decode(source.AsSpan(0, sourceLength), target.Span);
                break;
            default:
                throw new InvalidDataException($"pages compressed with {Describe(codec)} are not read page by page");
        }
        if (written != target.Length)
        {
            throw new InvalidDataException($"the page does not decompress ({Describe(codec)}) to the {target.Length} bytes its header gives");
        }
    }
}
