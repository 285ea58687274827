namespace InferenceServer.Core.Scheduling;

/// <summary>
/// What a scheduler reports about the work it does, for statistics and metrics. Called on hot
/// paths: implementations must be cheap, thread-safe and allocation-free. Durations are measured
/// with the scheduler's <see cref="TimeProvider"/>, so a fake clock controls them in tests.
/// </summary>
public interface ISchedulerObserver
{
    /// <summary>A request entered the queue (pending count +1).</summary>
    void RequestQueued();

    /// <summary>A request left the queue: dispatched in a batch, rejected, timed out or cancelled (pending count −1).</summary>
    void RequestDequeued();

    /// <summary>
    /// One batch ran on an instance. <paramref name="batchSize"/> is the sum of the batch
    /// dimensions of its requests (1 per request for models that do not batch).
    /// <paramref name="computeInput"/> covers assembling the inputs, <paramref name="computeInfer"/> the
    /// backend's run, <paramref name="computeOutput"/> scattering the outputs back to the requests.
    /// </summary>
    void BatchExecuted(int batchSize, TimeSpan computeInput, TimeSpan computeInfer, TimeSpan computeOutput);

    /// <summary>A request finished successfully: its time in the queue and the durations of the batch it ran in.</summary>
    void RequestSucceeded(TimeSpan queue, TimeSpan computeInput, TimeSpan computeInfer, TimeSpan computeOutput);

    /// <summary>A request failed inside the scheduler (<paramref name="queue"/>: how long it had waited).</summary>
    void RequestFailed(SchedulerFailure failure, TimeSpan queue);

    /// <summary>
    /// An instance that had work waited <paramref name="waited"/> in the rate limiter's line for its resources, and was
    /// then granted them or left the line because its work was gone. Only with <c>--rate-limit</c> on.
    /// </summary>
    void ResourcesWaited(TimeSpan waited)
    {
    }
}
