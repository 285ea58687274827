using InferenceServer.Core.Inference;
using InferenceServer.Core.Monitoring;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace InferenceServer.Core.Routing;

/// <summary>
/// What a <see cref="RouteRuntime"/> needs from the server to run its parts (metrics, the clock of its rollout, loggers,
/// and a way to run a shadow's copy of a request), handed to the route table that creates the runtimes.
/// </summary>
internal sealed class RouteServices(RoutingMetrics metrics, TimeProvider? time = null, ILoggerFactory? loggers = null)
{
    private Func<RouteRuntime, InferenceRequest, CancellationToken, Task<InferenceResponse>>? _shadowRunner;
    private Func<RouteRuntime, int>? _shadowBatchRows;

    public RoutingMetrics Metrics { get; } = metrics;

    public TimeProvider Time { get; } = time ?? TimeProvider.System;

    public ILoggerFactory Loggers { get; } = loggers ?? NullLoggerFactory.Instance;

    /// <summary>
    /// Runs a shadow's copy of a request on the route's shadow variant. The front door sets it once it exists: it
    /// routes and runs requests, and the router it depends on creates the runtimes, so the link is made afterwards.
    /// </summary>
    public Func<RouteRuntime, InferenceRequest, CancellationToken, Task<InferenceResponse>> ShadowRunner
    {
        get => Volatile.Read(ref _shadowRunner) ?? NoRunner;
        set => Volatile.Write(ref _shadowRunner, value);
    }

    /// <summary>
    /// The most rows the route's shadow variant takes in one request (its max_batch_size; 0 when it takes no batches or
    /// does not serve), so that copies waiting together run as one. Set by the front door with <see cref="ShadowRunner"/>.
    /// </summary>
    public Func<RouteRuntime, int> ShadowBatchRows
    {
        get => Volatile.Read(ref _shadowBatchRows) ?? NoBatches;
        set => Volatile.Write(ref _shadowBatchRows, value);
    }

    private static int NoBatches(RouteRuntime runtime) => 0;

    private static Task<InferenceResponse> NoRunner(RouteRuntime runtime, InferenceRequest request, CancellationToken cancellationToken) =>
        Task.FromException<InferenceResponse>(new InferenceException(InferenceErrorKind.Unavailable, $"route '{runtime.Name}' cannot run its shadow: the server is not serving yet"));
}
