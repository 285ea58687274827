using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Runtime.CompilerServices;

namespace InferenceServer.Grpc.Client;

/// <summary>
/// A small unary gRPC client over HTTP/2 (cleartext with prior knowledge for <c>http://</c>, TLS with ALPN for
/// <c>https://</c>), built on <see cref="SocketsHttpHandler"/>. It deals in serialized messages, so it serves any
/// protobuf library: frame a request once with <see cref="Frame"/> and send the same bytes as often as needed.
/// Transport failures (refused connection, reset stream) surface as the <see cref="HttpRequestException"/> or
/// <see cref="IOException"/> the handler throws; everything the server answers becomes a <see cref="GrpcCallResult"/>.
/// </summary>
public sealed class GrpcClient : IDisposable
{
    private const string GrpcContentType = "application/grpc";
    private readonly HttpMessageInvoker[] _invokers;
    private readonly Uri _address;
    private readonly GrpcClientOptions _options;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Uri> _methodUris = new(StringComparer.Ordinal);
    private uint _next;

    /// <summary>Creates a client for the server at <paramref name="address"/> (scheme, host and port; a path is ignored).</summary>
    public GrpcClient(Uri address, GrpcClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException($"a gRPC address is http:// or https://, not '{address}'", nameof(address));
        }
        _options = options ?? new GrpcClientOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.Connections, 1, nameof(options));
        _address = new Uri(address.GetLeftPart(UriPartial.Authority));
        _invokers = new HttpMessageInvoker[_options.Connections];
        for (var i = 0; i < _invokers.Length; i++)
        {
            _invokers[i] = new HttpMessageInvoker(CreateHandler(_options), disposeHandler: true);
        }
    }

    /// <summary>The server's scheme, host and port.</summary>
    public Uri Address => _address;

    /// <summary>Prefixes <paramref name="message"/> with the 5-byte gRPC frame header (uncompressed).</summary>
    public static byte[] Frame(ReadOnlySpan<byte> message)
    {
        var framed = new byte[GrpcFrame.HeaderSize + message.Length];
        GrpcFrame.WriteHeader(framed, compressed: false, message.Length);
        message.CopyTo(framed.AsSpan(GrpcFrame.HeaderSize));
        return framed;
    }

    /// <summary>
    /// Calls the unary method <paramref name="method"/> (<c>/package.Service/Method</c>) with an already framed request.
    /// </summary>
    /// <param name="method">The method's path.</param>
    /// <param name="framedRequest">The request message with its frame header (see <see cref="Frame"/>).</param>
    /// <param name="timeout">Sent as <c>grpc-timeout</c>, so the server gives up too; the caller cancels locally through <paramref name="cancellationToken"/>.</param>
    /// <param name="keepResponse">Copy the response message into the result; false reads and discards it (a load generator's choice).</param>
    /// <param name="cancellationToken">Cancels the call (the stream is reset).</param>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<GrpcCallResult> UnaryAsync(string method, ReadOnlyMemory<byte> framedRequest, TimeSpan? timeout = null, bool keepResponse = true, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _methodUris.GetOrAdd(method, static (m, a) => new Uri(a, m), _address))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new GrpcRequestContent(framedRequest),
        };
        var headers = request.Headers;
        headers.TryAddWithoutValidation("te", "trailers");
        headers.TryAddWithoutValidation("user-agent", _options.UserAgent);
        if (timeout is { } value)
        {
            headers.TryAddWithoutValidation("grpc-timeout", GrpcTimeout.Format(value));
        }

        var invoker = _invokers.Length == 1 ? _invokers[0] : _invokers[Interlocked.Increment(ref _next) % (uint)_invokers.Length];
        using var response = await invoker.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            // A gRPC server answers 200 even for errors; anything else came from something that is not one, unless it said which status it meant.
            var status = HeaderStatus(response.Headers) ?? (GrpcHttpStatus.ToGrpcStatus(response.StatusCode), null);
            return new GrpcCallResult(status.Code, status.Message ?? $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}", default);
        }
        if (HeaderStatus(response.Headers) is { } trailersOnly)
        {
            // Trailers-Only: the status came in the only HEADERS frame; there is no body.
            return new GrpcCallResult(trailersOnly.Code, trailersOnly.Message, default);
        }
        if (!IsGrpc(response.Content.Headers.ContentType))
        {
            return new GrpcCallResult(GrpcStatusCode.Unknown, $"the response's content type is '{response.Content.Headers.ContentType}', not {GrpcContentType}", default);
        }

        var buffer = ArrayPool<byte>.Shared.Rent(4096);
        try
        {
            var length = 0;
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                while (true)
                {
                    if (length == buffer.Length)
                    {
                        if (length >= GrpcFrame.HeaderSize + _options.MaxResponseMessageSize)
                        {
                            return new GrpcCallResult(GrpcStatusCode.ResourceExhausted, $"the response exceeds the limit of {_options.MaxResponseMessageSize} bytes", default);
                        }
                        var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.AsSpan(0, length).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }
                    var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
                    if (read == 0)
                    {
                        break;
                    }
                    length += read;
                }
            }

            var trailer = HeaderStatus(response.TrailingHeaders)
                ?? (GrpcStatusCode.Internal, "the response ended without grpc-status");
            if (trailer.Code != GrpcStatusCode.Ok)
            {
                return new GrpcCallResult(trailer.Code, trailer.Message, default);
            }
            return ReadSingleMessage(buffer.AsSpan(0, length), keepResponse, trailer.Message);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Closes every connection.</summary>
    public void Dispose()
    {
        foreach (var invoker in _invokers)
        {
            invoker.Dispose();
        }
    }

    private GrpcCallResult ReadSingleMessage(ReadOnlySpan<byte> body, bool keepResponse, string? message)
    {
        if (body.Length < GrpcFrame.HeaderSize)
        {
            return new GrpcCallResult(GrpcStatusCode.Internal, body.Length == 0 ? "the call ended OK without a response message" : "the response ends inside a frame header", default);
        }
        if (body[0] != 0)
        {
            // This client never sends grpc-accept-encoding, so a compressed message breaks the protocol.
            return new GrpcCallResult(GrpcStatusCode.Internal, "the server sent a compressed message the client did not ask for", default);
        }
        var length = BinaryPrimitives.ReadUInt32BigEndian(body[1..]);
        if (length > (uint)_options.MaxResponseMessageSize)
        {
            return new GrpcCallResult(GrpcStatusCode.ResourceExhausted, $"the response message of {length} bytes exceeds the limit of {_options.MaxResponseMessageSize} bytes", default);
        }
        if ((long)GrpcFrame.HeaderSize + length > body.Length)
        {
            return new GrpcCallResult(GrpcStatusCode.Internal, "the response ends inside a message", default);
        }
        if (GrpcFrame.HeaderSize + length < body.Length)
        {
            return new GrpcCallResult(GrpcStatusCode.Internal, "a unary call answered with more than one message", default);
        }
        var payload = keepResponse ? body.Slice(GrpcFrame.HeaderSize, (int)length).ToArray() : default(ReadOnlyMemory<byte>);
        return new GrpcCallResult(GrpcStatusCode.Ok, message, payload);
    }

    private static (GrpcStatusCode Code, string? Message)? HeaderStatus(HttpHeaders headers)
    {
        if (!headers.NonValidated.TryGetValues("grpc-status", out var statusValues))
        {
            return null;
        }
        var text = statusValues.ToString();
        if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var code))
        {
            return (GrpcStatusCode.Unknown, $"unparsable grpc-status '{text}'");
        }
        string? message = null;
        if (headers.NonValidated.TryGetValues("grpc-message", out var messageValues))
        {
            message = GrpcStatusMessage.Decode(messageValues.ToString());
        }
        return ((GrpcStatusCode)code, message);
    }

    private static bool IsGrpc(MediaTypeHeaderValue? contentType)
    {
        var media = contentType?.MediaType;
        return media is not null
            && media.StartsWith(GrpcContentType, StringComparison.OrdinalIgnoreCase)
            && (media.Length == GrpcContentType.Length || media[GrpcContentType.Length] == '+');
    }

    private static SocketsHttpHandler CreateHandler(GrpcClientOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            // Calls beyond a connection's stream limit open another connection instead of queueing.
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = options.ConnectTimeout,
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        };
        if (options.AllowUntrustedCertificates)
        {
            handler.SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = static (_, _, _, _) => true };
        }
        return handler;
    }
}
