using System.Buffers;
using System.Globalization;
using System.IO.Compression;
using System.IO.Pipelines;
using System.Threading.RateLimiting;
using InferenceServer.Core.Inference;
using InferenceServer.Protocols.Buffers;
using Microsoft.AspNetCore.Http;

namespace InferenceServer.Protocols.Http;

/// <summary>
/// A request body read whole into one buffer, decompressed when it came with <c>Content-Encoding: gzip</c> or
/// <c>deflate</c> (Triton's client sends both), with the size limit enforced on the bytes the server keeps and the bytes
/// held counted against the server's <see cref="RequestBodyBudget"/>.
/// </summary>
/// <remarks>
/// Decompression is here rather than in ASP.NET Core's RequestDecompression middleware: that middleware passes a body
/// in an unknown encoding on undecoded (it would reach the JSON parser as garbage, where Triton answers "unsupported"),
/// and it reports a body that inflates past the limit as an <see cref="InvalidOperationException"/>, a 500, where the
/// client must get 413. Reading into one buffer bounds both the compressed and the inflated size in one place.
/// <para>
/// The buffer grows as bytes arrive, never ahead of them: a declared Content-Length only caps the growth, so a client
/// that declares a large body and sends little costs little. Up to <see cref="MaxPooledBytes"/> it is a pooled array;
/// past that it is native memory, which goes back to the OS the moment the body is disposed (glibc maps blocks that
/// large on their own, and grows them in place). A shared pool would keep a body-sized array for good once one large
/// body had come.
/// </para>
/// </remarks>
internal sealed class RequestBody : IDisposable
{
    /// <summary>The content codings a request body may come in, as a 415 answer's <c>Accept-Encoding</c> lists them.</summary>
    public const string AcceptedEncodings = "gzip, deflate";

    /// <summary>The largest buffer taken from the shared pool; larger bodies grow in native memory.</summary>
    internal const int MaxPooledBytes = 1024 * 1024;

    private const int InitialCapacity = 16 * 1024;
    private const int InflateChunk = 64 * 1024;

    private readonly RequestBodyBudget _budget;
    private readonly CancellationToken _cancellationToken;
    private byte[]? _array;
    private NativeBuffer? _native;
    private long _capacity;
    private RateLimitLease? _lease;
    private List<RateLimitLease>? _moreLeases;

    private RequestBody(RequestBodyBudget budget, CancellationToken cancellationToken)
    {
        _budget = budget;
        _cancellationToken = cancellationToken;
    }

    /// <summary>Number of bytes in the body (after decompression).</summary>
    public int Length { get; private set; }

    /// <summary>The body's bytes (after decompression).</summary>
    public ReadOnlySpan<byte> Span => _native is not null ? _native.Written : _array.AsSpan(0, Length);

    /// <summary>
    /// Reads the whole body, decompressing gzip and deflate (zlib, RFC 1950, as HTTP defines it); 413 (TooLarge) past
    /// <paramref name="limit"/> bytes, compressed or not; 415 for any other content coding; 400 for corrupt compressed
    /// data; 503 (Unavailable) when the server's body budget has no room for it within its wait.
    /// </summary>
    public static async Task<RequestBody> ReadAsync(HttpRequest request, long limit, RequestBodyBudget budget, CancellationToken cancellationToken)
    {
        var declared = request.ContentLength;
        if (declared > limit)
        {
            HttpErrors.LeaveBodyUnread(request.HttpContext);
            throw new InferenceException(InferenceErrorKind.TooLarge, string.Create(CultureInfo.InvariantCulture,
                $"request body of {declared.Value} bytes (Content-Length) exceeds the limit of {limit} bytes (Http:MaxRequestBodyBytes)"));
        }
        var coding = ReadCoding(request);
        var body = new RequestBody(budget, cancellationToken);
        try
        {
            if (coding is null)
            {
                await body.ReadPlainAsync(request, limit).ConfigureAwait(false);
            }
            else
            {
                await body.ReadDecompressedAsync(request, coding, limit).ConfigureAwait(false);
            }
            return body;
        }
        catch
        {
            HttpErrors.LeaveBodyUnread(request.HttpContext);
            body.Dispose();
            throw;
        }
    }

    // Kestrel reports a body it cannot parse (bad chunk framing, say) as a plain IOException from the reader, not as a
    // BadHttpRequestException with a status: it is the client's fault, so 400 with Kestrel's reason, not 500. A client
    // that went away is no fault at all, and nobody is left to answer: the request ends as cancelled.
    private Exception Unreadable(IOException e) => _cancellationToken.IsCancellationRequested
        ? new OperationCanceledException(_cancellationToken)
        : InferenceException.Invalid($"the request body could not be read: {e.Message}");

    // Kestrel decodes a chunked body's trailer fields as it reads the body, and one that is not valid UTF-8 (a lone
    // Latin-1 byte, say) escapes its reader as a bare InvalidOperationException, where the same bytes in a header are its
    // own 400 (the head's parser checks them). Nothing else the client sends makes the body reader throw that type, so it
    // is the client's 400 naming the trailer, not a 500. Only the read itself is guarded: the server's own faults stay faults.
    private static InferenceException TrailerUnreadable() => InferenceException.Invalid(
        "the request body could not be read: a trailer field after its last chunk is not ASCII or UTF-8 text");

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

    private async Task ReadPlainAsync(HttpRequest request, long limit)
    {
        var declared = request.ContentLength;
        var reader = request.BodyReader;
        try
        {
            while (true)
            {
                ReadResult result;
                try
                {
                    result = await reader.ReadAsync(_cancellationToken).ConfigureAwait(false);
                }
                catch (InvalidOperationException)
                {
                    throw TrailerUnreadable();
                }
                var sequence = result.Buffer;
                if (Length + sequence.Length > limit)
                {
                    throw new InferenceException(InferenceErrorKind.TooLarge, string.Create(CultureInfo.InvariantCulture,
                        $"request body exceeds the limit of {limit} bytes (Http:MaxRequestBodyBytes): {Length + sequence.Length} bytes had arrived"));
                }
                if (!sequence.IsEmpty)
                {
                    await EnsureCapacityAsync(Length + sequence.Length, declared).ConfigureAwait(false);
                    sequence.CopyTo(Writable(sequence.Length));
                    Written(sequence.Length);
                }
                reader.AdvanceTo(sequence.End);
                if (result.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            // Kestrel's own count (the same limit) stopped a body that came without Content-Length.
            throw new InferenceException(InferenceErrorKind.TooLarge, string.Create(CultureInfo.InvariantCulture,
                $"request body exceeds the limit of {limit} bytes (Http:MaxRequestBodyBytes): more than {limit} bytes arrived"));
        }
        catch (IOException e) when (e is not BadHttpRequestException)
        {
            throw Unreadable(e);
        }
    }

    // The inflated size is unknown until the end: the buffer grows with what comes out of the decompressor, which is
    // read a chunk at a time, so a small body that inflates to gigabytes is stopped having cost at most the limit.
    private async Task ReadDecompressedAsync(HttpRequest request, string coding, long limit)
    {
        var chunk = ArrayPool<byte>.Shared.Rent(InflateChunk);
        try
        {
            Stream decompressed = coding == "gzip"
                ? new GZipStream(request.Body, CompressionMode.Decompress, leaveOpen: true)
                : new ZLibStream(request.Body, CompressionMode.Decompress, leaveOpen: true);
            await using (decompressed.ConfigureAwait(false))
            {
                while (true)
                {
                    int read;
                    try
                    {
                        read = await decompressed.ReadAsync(chunk.AsMemory(0, InflateChunk), _cancellationToken).ConfigureAwait(false);
                    }
                    catch (InvalidOperationException)
                    {
                        throw TrailerUnreadable();
                    }
                    if (read == 0)
                    {
                        return;
                    }
                    if (Length + (long)read > limit)
                    {
                        throw new InferenceException(InferenceErrorKind.TooLarge, string.Create(CultureInfo.InvariantCulture,
                            $"request body inflates to more than the limit of {limit} bytes ({coding}, Http:MaxRequestBodyBytes): {Length + (long)read} bytes had come out when it was stopped"));
                    }
                    await EnsureCapacityAsync(Length + (long)read, null).ConfigureAwait(false);
                    chunk.AsSpan(0, read).CopyTo(Writable(read));
                    Written(read);
                }
            }
        }
        catch (InvalidDataException e)
        {
            throw InferenceException.Invalid($"the request body is not valid {coding} data (Content-Encoding: {coding}): {e.Message}");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw new InferenceException(InferenceErrorKind.TooLarge, string.Create(CultureInfo.InvariantCulture,
                $"request body exceeds the limit of {limit} bytes (Http:MaxRequestBodyBytes): more than {limit} compressed bytes arrived"));
        }
        catch (IOException e) when (e is not BadHttpRequestException)
        {
            throw Unreadable(e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }

    private Span<byte> Writable(long count) =>
        _native is not null ? _native.GetSpan((int)count) : _array.AsSpan(Length, (int)count);

    private void Written(long count)
    {
        _native?.Advance((int)count);
        Length += (int)count;
    }

    // Grows to hold `needed` bytes: doubling (so a body is copied a few times at most), never past what was declared, and
    // only after the budget has room for the growth.
    private async ValueTask EnsureCapacityAsync(long needed, long? declared)
    {
        if (needed <= _capacity)
        {
            return;
        }
        var capacity = Math.Max(needed, Math.Max(_capacity * 2, InitialCapacity));
        // In whole units of the budget, so each growth reserves exactly what it adds and a body's reservations add up
        // to its size rounded up once. Rounded per growth, a read larger than the buffer left a fraction of a unit
        // over each time, and bodies that together just fit the budget did not: the last one waited for room only
        // another's answer could free, and got 503.
        capacity = (capacity + RequestBodyBudget.BytesPerPermit - 1) / RequestBodyBudget.BytesPerPermit * RequestBodyBudget.BytesPerPermit;
        if (declared >= needed)
        {
            capacity = Math.Min(capacity, declared.Value);
        }
        capacity = Math.Min(capacity, Array.MaxLength);
        if (needed > capacity)
        {
            throw new InferenceException(InferenceErrorKind.TooLarge, string.Create(CultureInfo.InvariantCulture,
                $"request body of more than {capacity} bytes is larger than the server can hold in one body"));
        }
        var lease = await _budget.ReserveAsync(capacity - _capacity, _cancellationToken).ConfigureAwait(false)
            ?? throw new InferenceException(InferenceErrorKind.Unavailable, string.Create(CultureInfo.InvariantCulture,
                $"the server is busy receiving other request bodies: they hold its limit of {_budget.CapacityBytes} bytes (Server:MaxRequestBodyBytesInFlight); retry shortly"));
        if (_lease is null)
        {
            _lease = lease;
        }
        else
        {
            (_moreLeases ??= []).Add(lease);
        }
        if (capacity <= MaxPooledBytes)
        {
            var larger = ArrayPool<byte>.Shared.Rent((int)capacity);
            if (_array is not null)
            {
                _array.AsSpan(0, Length).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(_array);
            }
            _array = larger;
        }
        else
        {
            if (_native is null)
            {
                _native = new NativeBuffer();
                if (_array is not null)
                {
                    _array.AsSpan(0, Length).CopyTo(_native.GetSpan(Length));
                    _native.Advance(Length);
                    ArrayPool<byte>.Shared.Return(_array);
                    _array = null;
                }
            }
            _native.Grow(capacity);
        }
        _capacity = capacity;
    }

    public void Dispose()
    {
        if (_array is { } array)
        {
            _array = null;
            ArrayPool<byte>.Shared.Return(array);
        }
        _native?.Dispose();
        _native = null;
        _capacity = 0;
        Length = 0;
        _lease?.Dispose();
        _lease = null;
        if (_moreLeases is { } more)
        {
            foreach (var lease in more)
            {
                lease.Dispose();
            }
            _moreLeases = null;
        }
    }
}
