using InferenceServer.Core.Scheduling;
using Prometheus;

namespace InferenceServer.Core.Monitoring;

/// <summary>
/// One model version's series in <see cref="InferenceMetrics"/>, resolved once when the version is created so that
/// recording a request touches the series directly: no label lookup, no allocation.
/// </summary>
internal sealed class ModelSeries
{
    /// <summary>Label names as Triton labels its per-model series.</summary>
    public const string Model = "model";

    /// <inheritdoc cref="Model"/>
    public const string Version = "version";

    /// <inheritdoc cref="Model"/>
    public const string Reason = "reason";

    private readonly Counter.Child _requestSuccess;
    private readonly Counter.Child[] _requestFailure;
    private readonly Counter.Child _inferenceCount;
    private readonly Counter.Child _executionCount;
    private readonly Counter.Child _requestDuration;
    private readonly Counter.Child _queueDuration;
    private readonly Counter.Child _computeInputDuration;
    private readonly Counter.Child _computeInferDuration;
    private readonly Counter.Child _computeOutputDuration;
    private readonly Histogram.Child _requestHistogram;
    private readonly Histogram.Child _queueHistogram;
    private readonly Histogram.Child _computeInferHistogram;
    private readonly Histogram.Child _batchSizeHistogram;
    private readonly Counter.Child _resourceWaitDuration;
    private readonly Counter.Child _resourceWaitCount;

    public ModelSeries(InferenceMetrics metrics, string model, string version)
    {
        _requestSuccess = metrics.RequestSuccess.WithLabels(model, version);
        var reasons = Enum.GetValues<SchedulerFailure>();
        _requestFailure = new Counter.Child[reasons.Length];
        foreach (var reason in reasons)
        {
            _requestFailure[(int)reason] = metrics.RequestFailure.WithLabels(model, ReasonName(reason), version);
        }
        _inferenceCount = metrics.InferenceCount.WithLabels(model, version);
        _executionCount = metrics.ExecutionCount.WithLabels(model, version);
        _requestDuration = metrics.RequestDuration.WithLabels(model, version);
        _queueDuration = metrics.QueueDuration.WithLabels(model, version);
        _computeInputDuration = metrics.ComputeInputDuration.WithLabels(model, version);
        _computeInferDuration = metrics.ComputeInferDuration.WithLabels(model, version);
        _computeOutputDuration = metrics.ComputeOutputDuration.WithLabels(model, version);
        _requestHistogram = metrics.RequestHistogram.WithLabels(model, version);
        _queueHistogram = metrics.QueueHistogram.WithLabels(model, version);
        _computeInferHistogram = metrics.ComputeInferHistogram.WithLabels(model, version);
        _batchSizeHistogram = metrics.BatchSizeHistogram.WithLabels(model, version);
        _resourceWaitDuration = metrics.ResourceWaitDuration.WithLabels(model, version);
        _resourceWaitCount = metrics.ResourceWaitCount.WithLabels(model, version);
    }

    /// <summary>Triton's spelling of a failure reason.</summary>
    public static string ReasonName(SchedulerFailure reason) => reason switch
    {
        SchedulerFailure.Rejected => "REJECTED",
        SchedulerFailure.Canceled => "CANCELED",
        SchedulerFailure.Backend => "BACKEND",
        _ => "OTHER",
    };

    /// <summary>Shows the counters (at zero until their first request) and histograms; every failure reason too.</summary>
    public void Publish()
    {
        _requestSuccess.Publish();
        foreach (var failure in _requestFailure)
        {
            failure.Publish();
        }
        _inferenceCount.Publish();
        _executionCount.Publish();
        _requestDuration.Publish();
        _queueDuration.Publish();
        _computeInputDuration.Publish();
        _computeInferDuration.Publish();
        _computeOutputDuration.Publish();
        _requestHistogram.Publish();
        _queueHistogram.Publish();
        _computeInferHistogram.Publish();
        _batchSizeHistogram.Publish();
    }

    public void RequestSucceeded(long inferences, double durationUs)
    {
        _requestSuccess.Inc();
        _inferenceCount.Inc(inferences);
        _requestDuration.Inc(NonNegative(durationUs));
        _requestHistogram.Observe(durationUs);
    }

    public void RequestFailed(SchedulerFailure reason) => _requestFailure[(int)reason].Inc();

    public void RequestComputed(double queueUs, double computeInputUs, double computeInferUs, double computeOutputUs)
    {
        _queueDuration.Inc(NonNegative(queueUs));
        _computeInputDuration.Inc(NonNegative(computeInputUs));
        _computeInferDuration.Inc(NonNegative(computeInferUs));
        _computeOutputDuration.Inc(NonNegative(computeOutputUs));
        _queueHistogram.Observe(queueUs);
    }

    public void BatchExecuted(int batchSize, double computeInferUs)
    {
        _executionCount.Inc();
        _batchSizeHistogram.Observe(batchSize);
        _computeInferHistogram.Observe(computeInferUs);
    }

    /// <summary>
    /// An instance waited for rate-limiter resources. These series are not published with the others: they appear with
    /// a model's first wait, so a server without <c>--rate-limit</c> shows none of them.
    /// </summary>
    public void ResourcesWaited(double waitedUs)
    {
        _resourceWaitCount.Inc();
        _resourceWaitDuration.Inc(NonNegative(waitedUs));
    }

    // A counter refuses to go down (it throws); a duration measured as negative by a clock step counts as zero instead
    // of failing the request that reported it.
    private static double NonNegative(double value) => value > 0 ? value : 0;
}
