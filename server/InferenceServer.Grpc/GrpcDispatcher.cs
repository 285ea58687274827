using System.IO.Compression;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace InferenceServer.Grpc;

/// <summary>
/// Turns HTTP/2 requests into gRPC calls: checks the request is one, finds the method, runs its handler with a reader,
/// a writer and a call context, and ends the response with <c>grpc-status</c> (in trailers, or in the headers alone
/// for an error before any message). Requests for paths it does not know and that are not gRPC pass through.
/// </summary>
internal sealed class GrpcDispatcher(GrpcServiceRegistry registry, GrpcServerOptions options, ILogger logger)
{
    private const string GrpcContentType = "application/grpc";
    private const string HandlerFailedMessage = "The method failed on the server.";

    // grpc-status values, so ending a call allocates no string.
    private static readonly string[] StatusStrings = CreateStatusStrings();

    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "";
        if (registry.TryFind(path, out var method))
        {
            return HandleAsync(context, method);
        }
        if (IsGrpc(request.ContentType) && HttpMethods.IsPost(request.Method))
        {
            ResponseHeaders(context.Response);
            TrailersOnly(context.Response, GrpcStatusCode.Unimplemented, $"Method '{path}' is not implemented.");
            return Task.CompletedTask;
        }
        return next(context);
    }

    /// <summary>Whether a content type is gRPC over HTTP/2 (<c>application/grpc</c>, <c>application/grpc+proto</c>, …) and not gRPC-Web, whose framing differs.</summary>
    internal static bool IsGrpc(string? contentType) =>
        contentType is not null
        && contentType.StartsWith(GrpcContentType, StringComparison.OrdinalIgnoreCase)
        && (contentType.Length == GrpcContentType.Length || contentType[GrpcContentType.Length] is '+' or ';');

    internal static string StatusString(GrpcStatusCode code) =>
        (uint)code < (uint)StatusStrings.Length ? StatusStrings[(int)code] : ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private async Task HandleAsync(HttpContext context, GrpcMethod method)
    {
        var request = context.Request;
        var response = context.Response;
        if (!HttpProtocol.IsHttp2(request.Protocol))
        {
            response.StatusCode = StatusCodes.Status426UpgradeRequired;
            response.Headers["grpc-status"] = StatusString(GrpcStatusCode.Internal);
            response.Headers["grpc-message"] = GrpcStatusMessage.Encode($"gRPC needs HTTP/2; the request came as {request.Protocol}.");
            return;
        }
        if (!HttpMethods.IsPost(request.Method))
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            response.Headers.Allow = "POST";
            return;
        }
        if (!IsGrpc(request.ContentType))
        {
            // A gRPC error travels with HTTP 200; a plain HTTP client would take that for success, hence 415.
            response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return;
        }
        ResponseHeaders(response);
        TimeSpan? timeout = null;
        var timeoutHeader = request.Headers["grpc-timeout"];
        if (!StringValues.IsNullOrEmpty(timeoutHeader))
        {
            if (!GrpcTimeout.TryParse(timeoutHeader.ToString(), out var parsed))
            {
                TrailersOnly(response, GrpcStatusCode.Internal, $"Malformed grpc-timeout '{timeoutHeader}'.");
                return;
            }
            timeout = parsed;
        }
        CompressionLevel? compression = null;
        if (options.ResponseCompression == GrpcCompression.Gzip
            && GrpcCompression.Accepts(request.Headers["grpc-accept-encoding"].ToString(), GrpcCompression.Gzip))
        {
            response.Headers["grpc-encoding"] = GrpcCompression.Gzip;
            compression = options.ResponseCompressionLevel;
        }
        // A stream may stay open and idle for long and carry any number of messages; the per-message limit applies instead.
        if (context.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } rate)
        {
            rate.MinDataRate = null;
        }
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = null;
        }

        using var call = new GrpcCallContext(context, method.Path, timeout, options.TimeProvider);
        var encoding = request.Headers["grpc-encoding"].ToString();
        var reader = new GrpcMessageReader(request.BodyReader, options.MaxReceiveMessageSize, encoding.Length == 0 ? null : encoding, call.CancellationToken);
        var writer = new GrpcMessageWriter(response.BodyWriter, options.MaxSendMessageSize, compression, call.CancellationToken);
        var code = GrpcStatusCode.Ok;
        string? message = null;
        try
        {
            if (method.Unary is { } unary)
            {
                var message0 = await reader.ReadSingleAsync().ConfigureAwait(false);
                await unary(message0, writer, call).ConfigureAwait(false);
                if (!writer.InMessage && writer.MessagesWritten != 1)
                {
                    throw new InvalidOperationException($"A unary handler wrote {writer.MessagesWritten} response messages instead of one.");
                }
            }
            else
            {
                await method.DuplexStreaming!(reader, writer, call).ConfigureAwait(false);
            }
        }
        catch (GrpcStatusException e)
        {
            (code, message) = (e.StatusCode, e.Message);
        }
        catch (OperationCanceledException) when (call.DeadlineExceeded)
        {
            (code, message) = (GrpcStatusCode.DeadlineExceeded, "Deadline exceeded.");
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client reset the stream: no one is left to tell.
            Finish(reader, writer);
            return;
        }
        catch (Exception e)
        {
            GrpcLog.HandlerFailed(logger, method.Path, e);
            (code, message) = (GrpcStatusCode.Internal, HandlerFailedMessage);
        }
        if (writer.InMessage)
        {
            // The frame's prefix promised bytes that will never come: the stream can only be reset.
            GrpcLog.HalfWrittenMessage(logger, method.Path);
            Finish(reader, writer);
            context.Abort();
            return;
        }
        Finish(reader, writer);
        if (code != GrpcStatusCode.Ok)
        {
            GrpcLog.CallFailed(logger, method.Path, code, message!);
            if (writer.MessagesWritten == 0 && !response.HasStarted)
            {
                TrailersOnly(response, code, message);
                return;
            }
        }
        response.AppendTrailer("grpc-status", StatusString(code));
        if (!string.IsNullOrEmpty(message))
        {
            response.AppendTrailer("grpc-message", GrpcStatusMessage.Encode(message));
        }
    }

    private static void Finish(GrpcMessageReader reader, GrpcMessageWriter writer)
    {
        reader.Release();
        writer.ReturnBuffers();
    }

    private static void ResponseHeaders(HttpResponse response)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = GrpcContentType;
        response.Headers["grpc-accept-encoding"] = GrpcCompression.AcceptEncoding;
    }

    // Trailers-Only: the status rides in the only HEADERS frame, which ends the stream.
    private static void TrailersOnly(HttpResponse response, GrpcStatusCode code, string? message)
    {
        response.Headers["grpc-status"] = StatusString(code);
        if (!string.IsNullOrEmpty(message))
        {
            response.Headers["grpc-message"] = GrpcStatusMessage.Encode(message);
        }
    }

    private static string[] CreateStatusStrings()
    {
        var strings = new string[(int)GrpcStatusCode.Unauthenticated + 1];
        for (var i = 0; i < strings.Length; i++)
        {
            strings[i] = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return strings;
    }
}
