using System.Globalization;
using Google.Protobuf;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using InferenceServer.Protocols.Buffers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Options;

namespace InferenceServer.Protocols.Grpc;

/// <summary>
/// Keeps the gRPC port and the REST port apart (the gRPC endpoints answer connections of the gRPC port only, and that
/// port answers nothing else: 404), and adjusts what Grpc.AspNetCore leaves to the host for a gRPC call:
/// <list type="bullet">
/// <item>the message limit governs a call's size, not the REST body limit, and a stream may sit idle;</item>
/// <item>two of its statuses say less than ours did, so they are rewritten on the way out: a request over the receive
/// limit gets a detail naming the limit, and a malformed request to one of the library's services (health,
/// reflection), which it reports as UNKNOWN, is INVALID_ARGUMENT as for our own methods;</item>
/// <item>request messages are counted in the server's body budget as they are read, and compressed ones inflated
/// within the receive limit (<see cref="BudgetedMessageReader"/>).</item>
/// </list>
/// Runs after routing, before the endpoint.
/// </summary>
internal sealed class GrpcPortGate(RequestDelegate next, IOptions<GrpcProtocolOptions> options, RequestBodyBudget budget)
{
    /// <summary>Grpc.AspNetCore's detail for a request message over <c>MaxReceiveMessageSize</c>.</summary>
    internal const string LibraryReceiveLimitDetail = "Received message exceeds the maximum configured message size.";

    private readonly string _receiveLimitDetail = GrpcMessageLimits.ReceiveLimitExceeded(options.Value.MaxReceiveMessageBytes);

    public Task InvokeAsync(HttpContext context)
    {
        var onGrpcPort = context.ArrivedOn(ServerPort.Grpc);
        var endpoint = context.GetEndpoint();
        var grpcEndpoint = endpoint?.Metadata.GetMetadata<GrpcEndpointTag>() is not null;
        if (endpoint is not null && grpcEndpoint != onGrpcPort)
        {
            context.SetEndpoint(null);
        }
        if (!onGrpcPort || !grpcEndpoint)
        {
            return next(context);
        }
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = null;
        }
        if (context.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } rate)
        {
            rate.MinDataRate = null;
        }
        // Each request message holds room in the server's body budget while it is read.
        var reader = new BudgetedMessageReader(context.Request.BodyReader, budget, options.Value.MaxReceiveMessageBytes, context.Request.Headers["grpc-encoding"].ToString());
        context.Features.Set<IRequestBodyPipeFeature>(reader);
        context.Response.RegisterForDispose(reader);
        return CallAsync(context);
    }

    private async Task CallAsync(HttpContext context)
    {
        await next(context).ConfigureAwait(false);
        // A call refused before it reached a method (a content type that is not gRPC's) has its status in the headers only.
        var status = context.Features.Get<IServerCallContextFeature>()?.ServerCallContext.Status
            ?? (context.Response.Headers["grpc-status"] == "13" ? new Status(StatusCode.Internal, context.Response.Headers["grpc-message"].ToString()) : null);
        if (status is not { } known)
        {
            return;
        }
        var (code, detail) = known switch
        {
            { StatusCode: StatusCode.ResourceExhausted, Detail: LibraryReceiveLimitDetail } => (StatusCode.ResourceExhausted, _receiveLimitDetail),
            { StatusCode: StatusCode.Unknown, DebugException: InvalidProtocolBufferException e } => (StatusCode.InvalidArgument, "malformed request message: " + e.Message),
            { StatusCode: StatusCode.Internal } when IsLibraryFramingRefusal(known.Detail) => (StatusCode.InvalidArgument, "malformed request: " + known.Detail),
            _ => (StatusCode.OK, null),
        };
        if (detail is null)
        {
            return;
        }
        // Before any message the status rides in the headers (Trailers-Only), after one in the trailers; neither has
        // been sent yet, as Kestrel sends them once the pipeline returns.
        var destination = context.Response.HasStarted ? context.Features.Get<IHttpResponseTrailersFeature>()?.Trailers : context.Response.Headers;
        if (destination is null || destination.IsReadOnly)
        {
            return;
        }
        destination["grpc-status"] = ((int)code).ToString(CultureInfo.InvariantCulture);
        destination["grpc-message"] = Printable(detail);
    }

    // Grpc.AspNetCore answers INTERNAL for a request whose gRPC framing or headers are broken; the client sent them, so
    // they are INVALID_ARGUMENT as every other malformed request (INTERNAL is kept for the server's own faults).
    private static bool IsLibraryFramingRefusal(string detail) =>
        detail is "Incomplete message." or "Additional data after the message received." or "Request did not include grpc-encoding value with compressed message."
        || (detail.StartsWith("Content-Type '", StringComparison.Ordinal) && detail.EndsWith("' is not supported.", StringComparison.Ordinal));

    // grpc-message is percent-encoded beyond printable ASCII; these details never need that, but an exception's text
    // might, so anything else is replaced rather than encoded.
    private static string Printable(string text) =>
        string.Create(text.Length, text, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                span[i] = source[i] is >= ' ' and <= '~' and not '%' ? source[i] : '?';
            }
        });
}
