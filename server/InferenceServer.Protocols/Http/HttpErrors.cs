using System.Text.Json;
using InferenceServer.Core.Inference;
using InferenceServer.Protocols.Buffers;
using Microsoft.AspNetCore.Http;

namespace InferenceServer.Protocols.Http;

/// <summary>Error responses in the v2 shape: a status code and <c>{"error": "..."}</c>.</summary>
internal static class HttpErrors
{
    /// <summary>The HTTP status for each protocol-neutral error kind.</summary>
    public static int StatusCode(InferenceErrorKind kind) => kind switch
    {
        InferenceErrorKind.InvalidArgument => StatusCodes.Status400BadRequest,
        InferenceErrorKind.NotFound => StatusCodes.Status404NotFound,
        InferenceErrorKind.Unavailable => StatusCodes.Status503ServiceUnavailable,
        InferenceErrorKind.TooLarge => StatusCodes.Status413PayloadTooLarge,
        InferenceErrorKind.DeadlineExceeded => StatusCodes.Status504GatewayTimeout,
        InferenceErrorKind.Cancelled => StatusCodes.Status499ClientClosedRequest,
        _ => StatusCodes.Status500InternalServerError,
    };

    /// <summary>Writes <c>{"error": message}</c> with <paramref name="status"/>, unless the response has already started.</summary>
    public static async Task WriteAsync(HttpContext context, int status, string message)
    {
        if (context.Response.HasStarted)
        {
            return;
        }
        context.Response.Clear();
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        using var body = new PooledBufferWriter(256);
        using (var writer = new Utf8JsonWriter(body, V2Json.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("error"u8, message);
            writer.WriteEndObject();
        }
        context.Response.ContentLength = body.WrittenCount;
        await context.Response.Body.WriteAsync(body.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }
}
