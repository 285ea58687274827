namespace InferenceServer.Core.Scheduling;

/// <summary>An observer that records nothing, for schedulers built without statistics (tests, benchmarks).</summary>
public sealed class NullSchedulerObserver : ISchedulerObserver
{
    /// <summary>The one instance.</summary>
    public static readonly NullSchedulerObserver Instance = new();

    private NullSchedulerObserver()
    {
    }

    /// <inheritdoc />
    public void RequestQueued()
    {
    }

    /// <inheritdoc />
    public void RequestDequeued()
    {
    }

    /// <inheritdoc />
    public void BatchExecuted(int batchSize, TimeSpan computeInput, TimeSpan computeInfer, TimeSpan computeOutput)
    {
    }

    /// <inheritdoc />
    public void RequestSucceeded(TimeSpan queue, TimeSpan computeInput, TimeSpan computeInfer, TimeSpan computeOutput)
    {
    }

    /// <inheritdoc />
    public void RequestFailed(SchedulerFailure failure, TimeSpan queue)
    {
    }
}
