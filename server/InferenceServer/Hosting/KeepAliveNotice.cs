using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace InferenceServer.Hosting;

/// <summary>
/// Tells each HTTP/1.1 client how long the server keeps its idle connection (<c>Keep-Alive: timeout=N</c>, N being
/// <c>Server:KeepAliveTimeoutSeconds</c>), and keeps it <see cref="Grace"/> longer than that.
/// </summary>
/// <remarks>
/// An idle connection is closed by Kestrel's heartbeat once its keep-alive time is up, and a request the client sent on it
/// just before is lost: the client sees the connection end without an answer ("the response ended prematurely"), and a
/// POST is not retried. Without a pause the window is a moment; when the whole process stops (a blocking garbage
/// collection, such as the one the process memory budget runs before it evicts), requests sent during the pause on
/// connections whose time ran out meanwhile are read only after the heartbeat has closed them. The many-models runs with
/// those collections lost 8–39 requests with that message; a loopback reproduction (400 POSTs a second, 2 s keep-alive,
/// 0.5–1.3 s collections every 2 s) lost 148 in a minute, 7 without the collections, none with this notice. A client told the timeout stops using a connection
/// before it (.NET's HttpClient a second before, as do browsers and proxies that read the header), and the grace keeps
/// the server from closing it until well after, so a pause shorter than the grace loses nothing.
/// </remarks>
internal sealed class KeepAliveNotice
{
    /// <summary>How much longer than it tells clients the server keeps an idle connection: longer than any pause it makes.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(10);

    private readonly string _value;
    private readonly Func<object, Task> _addHeader;

    public KeepAliveNotice(IOptions<ServerOptions> options)
    {
        _value = string.Create(CultureInfo.InvariantCulture, $"timeout={options.Value.KeepAliveTimeoutSeconds}");
        // One delegate for every request: the response's context is its state.
        _addHeader = AddHeader;
    }

    /// <summary>How long Kestrel keeps an idle connection: what clients are told, and the grace.</summary>
    public static TimeSpan KeptFor(ServerOptions options) => TimeSpan.FromSeconds(options.KeepAliveTimeoutSeconds) + Grace;

    /// <summary>Adds the header to the request's HTTP/1.1 answer, whatever replaces the answer's headers before it starts.</summary>
    public Task MarkAsync(HttpContext context, RequestDelegate next)
    {
        if (HttpProtocol.IsHttp11(context.Request.Protocol))
        {
            context.Response.OnStarting(_addHeader, context);
        }
        return next(context);
    }

    private Task AddHeader(object state)
    {
        var headers = ((HttpContext)state).Response.Headers;
        // An answer that closes its connection keeps none alive.
        if (!Closes(headers.Connection))
        {
            headers[HeaderNames.KeepAlive] = _value;
        }
        return Task.CompletedTask;
    }

    // Runs for every HTTP/1.1 answer: StringValues' own enumerator, not LINQ's, which would box it on each.
    private static bool Closes(StringValues connection)
    {
        foreach (var value in connection)
        {
            if (string.Equals(value, "close", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }
}
