using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace InferenceServer.Hosting;

/// <summary>
/// The moment between SIGTERM and Kestrel's stop. Kestrel's stop closes every idle keep-alive connection at once, and a
/// request a client sends on one of them at that moment is lost: the client had no way to know the connection was
/// closing. So for up to <c>Server:ShutdownDrainMilliseconds</c> the server goes on serving (readiness already says it is
/// stopping, so a load balancer sends nothing new) and answers every HTTP/1.1 request with <c>Connection: close</c>: each
/// connection is closed cleanly after an answer, and a client reconnects elsewhere. The drain ends early once no
/// connection is left. HTTP/2 needs none of it: Kestrel's GOAWAY tells a client which calls were not taken.
/// </summary>
internal sealed partial class ShutdownDrain(IOptions<ServerOptions> options, ConnectionGate connections, TimeProvider time, ILogger<ShutdownDrain> logger)
    : IHostedLifecycleService
{
    // Added as the answer starts, not when the request comes: an error answer replaces the headers set before it.
    private static readonly Func<object, Task> CloseConnection = static state =>
    {
        ((HttpResponse)state).Headers.Connection = "close";
        return Task.CompletedTask;
    };

    private volatile bool _draining;

    /// <summary>Marks a request's connection to close after its answer while the server drains, whatever the answer.</summary>
    public Task MarkAsync(HttpContext context, RequestDelegate next)
    {
        if (_draining && HttpProtocol.IsHttp11(context.Request.Protocol))
        {
            context.Response.OnStarting(CloseConnection, context.Response);
        }
        return next(context);
    }

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        var drain = TimeSpan.FromMilliseconds(options.Value.ShutdownDrainMilliseconds);
        // Once: serve stops the host on SIGTERM and again when it disposes it.
        if (drain <= TimeSpan.Zero || _draining)
        {
            return;
        }
        _draining = true;
        LogDraining(logger, options.Value.ShutdownDrainMilliseconds);
        var closed = connections.WhenAllClosedAsync();
        await Task.WhenAny(closed, Task.Delay(drain, time, cancellationToken)).ConfigureAwait(false);
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Draining: answering each request with Connection: close, for up to {Milliseconds} ms or until no connection is left")]
    private static partial void LogDraining(ILogger logger, int milliseconds);
}
