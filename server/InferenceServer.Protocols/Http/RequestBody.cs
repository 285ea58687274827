using System.Buffers;
using System.IO.Compression;
using InferenceServer.Core.Inference;
using Microsoft.AspNetCore.Http;

namespace InferenceServer.Protocols.Http;

/// <summary>
/// A request body read whole into one pooled buffer, decompressed when it came with <c>Content-Encoding: gzip</c> or
/// <c>deflate</c> (Triton's client sends both), with the size limit enforced on the bytes the server keeps.
/// </summary>
/// <remarks>
/// Decompression is here rather than in ASP.NET Core's RequestDecompression middleware: that middleware passes a body
/// in an unknown encoding on undecoded (it would reach the JSON parser as garbage, where Triton answers "unsupported"),
/// and it reports a body that inflates past the limit as an <see cref="InvalidOperationException"/>, a 500, where the
/// client must get 413. Reading into the pooled buffer bounds both the compressed and the inflated size in one place.
/// </remarks>
internal sealed class RequestBody : IDisposable
{
    /// <summary>The content codings a request body may come in, as a 415 answer's <c>Accept-Encoding</c> lists them.</summary>
    public const string AcceptedEncodings = "gzip, deflate";

    private const int InitialCapacity = 16 * 1024;

    private byte[] _buffer;

    private RequestBody(byte[] buffer, int length)
    {
        _buffer = buffer;
        Length = length;
    }

    /// <summary>Number of bytes in the body (after decompression).</summary>
    public int Length { get; }

    /// <summary>The body's bytes (after decompression).</summary>
    public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, Length);

    /// <summary>
    /// Reads the whole body, decompressing gzip and deflate (zlib, RFC 1950, as HTTP defines it); 413 (TooLarge) past
    /// <paramref name="limit"/> bytes, compressed or not; 415 for any other content coding; 400 for corrupt compressed data.
    /// </summary>
    public static Task<RequestBody> ReadAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        var declared = request.ContentLength;
        if (declared > limit)
        {
            throw TooLarge(declared.Value, limit);
        }
        return ReadCoding(request) switch
        {
            "gzip" => ReadDecompressedAsync(request, "gzip", limit, cancellationToken),
            "deflate" => ReadDecompressedAsync(request, "deflate", limit, cancellationToken),
            _ => ReadPlainAsync(request, limit, cancellationToken),
        };
    }

    // The one content coding of the body (lower case), or null for none; identity codings are no coding at all.
    private static string? ReadCoding(HttpRequest request)
    {
        string? coding = null;
        foreach (var value in request.Headers.ContentEncoding)
        {
            foreach (var range in (value ?? "").AsSpan().Split(','))
            {
                var token = (value ?? "").AsSpan()[range].Trim();
                if (token.IsEmpty || token.Equals("identity", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }
                var known = token.Equals("gzip", StringComparison.OrdinalIgnoreCase) ? "gzip"
                    : token.Equals("deflate", StringComparison.OrdinalIgnoreCase) ? "deflate"
                    : throw new BadHttpRequestException(
                        $"unsupported Content-Encoding '{token}'; the server accepts request bodies in gzip, deflate or identity", StatusCodes.Status415UnsupportedMediaType);
                if (coding is not null)
                {
                    throw new BadHttpRequestException(
                        $"Content-Encoding '{request.Headers.ContentEncoding}' applies more than one coding; the server accepts one of gzip or deflate", StatusCodes.Status415UnsupportedMediaType);
                }
                coding = known;
            }
        }
        return coding;
    }

    private static async Task<RequestBody> ReadPlainAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Clamp(request.ContentLength ?? InitialCapacity, 1, MaxCapacity(limit)));
        var length = 0;
        try
        {
            var reader = request.BodyReader;
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var sequence = result.Buffer;
                if (length + sequence.Length > limit)
                {
                    throw TooLarge(length + sequence.Length, limit);
                }
                if (length + sequence.Length > buffer.Length)
                {
                    buffer = Grow(buffer, length, length + sequence.Length, limit);
                }
                sequence.CopyTo(buffer.AsSpan(length));
                length += (int)sequence.Length;
                reader.AdvanceTo(sequence.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
            return new RequestBody(buffer, length);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw TooLarge(length, limit);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    // The inflated size is unknown until the end: the buffer starts at twice the compressed size and doubles, never past
    // one byte over the limit, and reading that byte is what proves a body too large. A small body that inflates to
    // gigabytes is stopped there, having cost at most the limit.
    private static async Task<RequestBody> ReadDecompressedAsync(HttpRequest request, string coding, long limit, CancellationToken cancellationToken)
    {
        var capacity = MaxCapacity(limit);
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(Math.Max(2 * (request.ContentLength ?? 0), InitialCapacity), capacity));
        var length = 0;
        try
        {
            Stream decompressed = coding == "gzip"
                ? new GZipStream(request.Body, CompressionMode.Decompress, leaveOpen: true)
                : new ZLibStream(request.Body, CompressionMode.Decompress, leaveOpen: true);
            await using (decompressed.ConfigureAwait(false))
            {
                while (true)
                {
                    if (length == Math.Min(buffer.Length, capacity))
                    {
                        buffer = Grow(buffer, length, length + 1L, limit);
                    }
                    var free = (int)Math.Min(buffer.Length, capacity) - length;
                    var read = await decompressed.ReadAsync(buffer.AsMemory(length, free), cancellationToken).ConfigureAwait(false);
                    if (read == 0)
                    {
                        break;
                    }
                    length += read;
                    if (length > limit)
                    {
                        throw TooLarge(length, limit, coding);
                    }
                }
            }
            return new RequestBody(buffer, length);
        }
        catch (InvalidDataException e)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw InferenceException.Invalid($"the request body is not valid {coding} data (Content-Encoding: {coding}): {e.Message}");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw TooLarge(request.ContentLength ?? limit + 1, limit);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    // The most a buffer may hold: one byte past the limit (to detect a body over it), and what an array can hold.
    private static long MaxCapacity(long limit) => Math.Min(limit + 1, Array.MaxLength);

    private static byte[] Grow(byte[] buffer, int length, long needed, long limit)
    {
        var capacity = MaxCapacity(limit);
        if (needed > capacity)
        {
            throw TooLarge(needed, limit);
        }
        var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(capacity, Math.Max(buffer.Length * 2L, needed)));
        buffer.AsSpan(0, length).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(buffer);
        return larger;
    }

    private static InferenceException TooLarge(long size, long limit) =>
        new(InferenceErrorKind.TooLarge, $"request body of {size}+ bytes exceeds the limit of {limit} bytes (Http:MaxRequestBodyBytes)");

    private static InferenceException TooLarge(long size, long limit, string coding) =>
        new(InferenceErrorKind.TooLarge, $"request body inflates to {size}+ bytes ({coding}), more than the limit of {limit} bytes (Http:MaxRequestBodyBytes)");

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
