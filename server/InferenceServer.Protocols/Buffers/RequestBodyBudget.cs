using System.Threading.RateLimiting;

namespace InferenceServer.Protocols.Buffers;

/// <summary>
/// The request-body bytes the server holds at once, over every connection and both protocols (REST bodies as they are
/// read, gRPC messages as they arrive). The per-request limits bound one body; this bounds how many of them arrive
/// together, so a handful of clients sending large bodies cannot take the server's memory. Room is reserved before the
/// bytes are held and given back when they are let go; a request that finds no room waits up to <see cref="Wait"/>
/// (oldest first), then is refused.
/// </summary>
/// <remarks>
/// System.Threading.RateLimiting's <see cref="ConcurrencyLimiter"/> does the counting and the fair waiting, with one
/// permit per KiB: it counts permits in an <see cref="int"/>, and a budget of more than 2 GiB must fit.
/// </remarks>
public sealed class RequestBodyBudget : IDisposable
{
    /// <summary>The budget's unit: every reservation is rounded up to whole units.</summary>
    internal const int BytesPerPermit = 1024;

    private readonly ConcurrencyLimiter _limiter;
    private readonly TimeProvider _time;
    private readonly int _permits;

    /// <summary>A budget of <paramref name="capacityBytes"/>, where a request waits up to <paramref name="wait"/> for room.</summary>
    public RequestBodyBudget(long capacityBytes, TimeSpan wait, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacityBytes, 1);
        _permits = (int)Math.Min(int.MaxValue, (capacityBytes + BytesPerPermit - 1) / BytesPerPermit);
        _limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = _permits,
            // Those waiting may together ask for one more budget's worth; past that, a request is refused at once.
            QueueLimit = _permits,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
        _time = time;
        CapacityBytes = capacityBytes;
        Wait = wait;
    }

    /// <summary>The most bytes held at once.</summary>
    public long CapacityBytes { get; }

    /// <summary>How long a request waits for room before it is refused.</summary>
    public TimeSpan Wait { get; }

    /// <summary>The bytes reserved now (in whole KiB).</summary>
    public long ReservedBytes => (long)(_permits - (_limiter.GetStatistics()?.CurrentAvailablePermits ?? _permits)) * BytesPerPermit;

    /// <summary>
    /// Reserves room for <paramref name="bytes"/> more bytes, waiting up to <see cref="Wait"/>; the lease gives it back
    /// when disposed. Null when no room came in time. A reservation larger than the budget takes the whole budget.
    /// </summary>
    public async ValueTask<RateLimitLease?> ReserveAsync(long bytes, CancellationToken cancellationToken)
    {
        var permits = Permits(bytes);
        var lease = _limiter.AttemptAcquire(permits);
        if (lease.IsAcquired)
        {
            return lease;
        }
        lease.Dispose();
        if (Wait <= TimeSpan.Zero)
        {
            return null;
        }
        using var timeout = new CancellationTokenSource(Wait, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            lease = await _limiter.AcquireAsync(permits, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
        if (lease.IsAcquired)
        {
            return lease;
        }
        lease.Dispose();
        return null;
    }

    /// <summary>Reserves room for <paramref name="bytes"/> more bytes if there is room now, without waiting; null otherwise.</summary>
    public RateLimitLease? TryReserve(long bytes)
    {
        var lease = _limiter.AttemptAcquire(Permits(bytes));
        if (lease.IsAcquired)
        {
            return lease;
        }
        lease.Dispose();
        return null;
    }

    private int Permits(long bytes) => (int)Math.Clamp((bytes + BytesPerPermit - 1) / BytesPerPermit, 1, _permits);

    public void Dispose() => _limiter.Dispose();
}
