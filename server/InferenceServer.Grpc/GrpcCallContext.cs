using Microsoft.AspNetCore.Http;

namespace InferenceServer.Grpc;

/// <summary>What a handler knows about its call besides the messages: the method, the deadline, and a token for both the deadline and a client reset.</summary>
public sealed class GrpcCallContext : IDisposable
{
    private readonly CancellationTokenSource? _deadline;
    private readonly CancellationTokenSource? _linked;
    private readonly TimeProvider _timeProvider;

    internal GrpcCallContext(HttpContext httpContext, string method, TimeSpan? timeout, TimeProvider timeProvider)
    {
        HttpContext = httpContext;
        Method = method;
        Timeout = timeout;
        _timeProvider = timeProvider;
        var aborted = httpContext.RequestAborted;
        // CancelAfter takes at most uint.MaxValue - 1 ms (about 49 days); a longer deadline is as good as none.
        if (timeout is { } value && value.TotalMilliseconds < uint.MaxValue - 1)
        {
            Deadline = timeProvider.GetUtcNow() + value;
            _deadline = new CancellationTokenSource(value, timeProvider);
            _linked = CancellationTokenSource.CreateLinkedTokenSource(_deadline.Token, aborted);
            CancellationToken = _linked.Token;
        }
        else
        {
            CancellationToken = aborted;
        }
    }

    /// <summary>The call's path, <c>/package.Service/Method</c>.</summary>
    public string Method { get; }

    /// <summary>The HTTP/2 request behind the call, for headers (metadata) and connection details.</summary>
    public HttpContext HttpContext { get; }

    /// <summary>The client's <c>grpc-timeout</c>, or <see langword="null"/> for none (no deadline).</summary>
    public TimeSpan? Timeout { get; }

    /// <summary>When the call's deadline passes, or <see langword="null"/> for none.</summary>
    public DateTimeOffset? Deadline { get; }

    /// <summary>Time left until the deadline on the call's clock (zero once past), or <see langword="null"/> for none.</summary>
    public TimeSpan? TimeRemaining => Deadline is { } deadline ? TimeSpan.FromTicks(Math.Max(0, (deadline - _timeProvider.GetUtcNow()).Ticks)) : null;

    /// <summary>Cancelled at the deadline or when the client resets the stream; pass it to everything the call waits on.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>Whether the deadline has passed.</summary>
    public bool DeadlineExceeded => _deadline?.IsCancellationRequested == true || (Deadline is { } deadline && _timeProvider.GetUtcNow() >= deadline);

    /// <summary>Stops the deadline timer.</summary>
    public void Dispose()
    {
        _linked?.Dispose();
        _deadline?.Dispose();
    }
}
