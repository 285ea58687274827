using System.Runtime.CompilerServices;
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

    /// <summary>
    /// The <c>Retry-After</c> header of a request shed under load (<see cref="InferenceException.RetryAfter"/>), in the
    /// whole seconds the header counts; null for any other failure.
    /// </summary>
    public static (string Name, string Value)? RetryAfter(InferenceException e) => e.RetryAfter is { } wait ? RetryAfter(wait) : null;

    /// <summary>The <c>Retry-After</c> header for a wait of <paramref name="wait"/>, in whole seconds, at least one.</summary>
    public static (string Name, string Value) RetryAfter(TimeSpan wait) =>
        (Microsoft.Net.Http.Headers.HeaderNames.RetryAfter, Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture));

    private static readonly object BodyUnread = new();

    /// <summary>Marks a request whose body the server stopped reading part way (a refusal), so its error response closes the connection.</summary>
    public static void LeaveBodyUnread(HttpContext context) => context.Items[BodyUnread] = true;

    /// <summary>
    /// Replaces whatever the response held with <paramref name="status"/>, the optional <paramref name="header"/> and
    /// <c>{"error": message}</c>, unless the response has already started.
    /// </summary>
    public static Task WriteAsync(HttpContext context, int status, string message, (string Name, string Value)? header = null)
    {
        if (context.Response.HasStarted)
        {
            return Task.CompletedTask;
        }
        Replace(context, status, header);
        return WriteBodyAsync(context, message);
    }

    // The encoded body of each refusal message the schedulers keep (one per priority level, while its bound and instances
    // stay: see RefuseBeforeReading): under overload thousands of refusals a second share one message, and encoding it
    // again for each took CPU the model needed. Weakly keyed: a message its scheduler dropped takes its body along.
    private static readonly ConditionalWeakTable<string, byte[]> RefusalBodies = new();

    /// <summary>
    /// As <see cref="WriteAsync"/>, for a message that is written many times over (a full queue's refusal): the same
    /// answer, with the body encoded once per message instance.
    /// </summary>
    public static Task WriteRepeatedAsync(HttpContext context, int status, string message, (string Name, string Value) header)
    {
        if (context.Response.HasStarted)
        {
            return Task.CompletedTask;
        }
        Replace(context, status, header);
        var body = RefusalBodies.GetValue(message, static text =>
        {
            using var encoded = new PooledBufferWriter(256);
            Encode(encoded, text);
            return encoded.WrittenMemory.ToArray();
        });
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = body.Length;
        return context.Response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }

    /// <summary>Writes <c>{"error": message}</c> as the body of the response's status, keeping its headers (a 405's <c>Allow</c>).</summary>
    public static async Task WriteBodyAsync(HttpContext context, string message)
    {
        context.Response.ContentType = "application/json";
        using var body = new PooledBufferWriter(256);
        Encode(body, message);
        context.Response.ContentLength = body.WrittenCount;
        await context.Response.Body.WriteAsync(body.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }

    private static void Replace(HttpContext context, int status, (string Name, string Value)? header)
    {
        context.Response.Clear();
        context.Response.StatusCode = status;
        if (context.Items.ContainsKey(BodyUnread) && HttpProtocol.IsHttp11(context.Request.Protocol))
        {
            // The rest of the body is still on its way: the connection cannot carry another request, and a client told
            // so opens a new one instead of sending its next request down a connection the server is about to close
            // ("response ended prematurely").
            context.Response.Headers.Connection = "close";
        }
        if (header is { } extra)
        {
            context.Response.Headers[extra.Name] = extra.Value;
        }
    }

    private static void Encode(PooledBufferWriter body, string message)
    {
        using var writer = new Utf8JsonWriter(body, V2Json.WriterOptions);
        writer.WriteStartObject();
        writer.WriteString("error"u8, message);
        writer.WriteEndObject();
    }
}
