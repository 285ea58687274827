using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Scheduling;

/// <summary>
/// Decides when and on which instance a request runs. One scheduler per loaded model version.
/// Disposing drains: requests already accepted finish, new ones are refused.
/// </summary>
public interface IScheduler : IAsyncDisposable
{
    /// <summary>
    /// Runs <paramref name="work"/> on some instance and completes with its outputs (owned by the caller).
    /// Faults with an <see cref="Inference.InferenceException"/> when the work cannot run.
    /// </summary>
    ValueTask<Tensor[]> ScheduleAsync(SchedulerWork work, CancellationToken cancellationToken);

    /// <summary>
    /// Admission before a request is read: the message of the refusal a request at the default priority would get now
    /// because the queue is full (a configured max_queue_size, or the default bound while the model sheds load), counted
    /// as a rejected request; null when it may be admitted, and then <see cref="ScheduleAsync"/> decides as usual.
    /// </summary>
    string? RefuseBeforeReading();

    /// <summary>
    /// Starts giving work to one more instance, which the scheduler owns from now on. False when the
    /// scheduler is shutting down; the caller then keeps (and disposes) the instance.
    /// </summary>
    bool TryAddInstance(Backends.IModelInstance instance);

    /// <summary>
    /// Stops giving work to <paramref name="instance"/>; completes once the work it is running has
    /// finished, handing the instance back to the caller to dispose. Queued work stays queued for the
    /// other instances. False (and nothing changes) when it is not one of this scheduler's instances
    /// or is the last one.
    /// </summary>
    ValueTask<bool> RemoveInstanceAsync(Backends.IModelInstance instance);
}
