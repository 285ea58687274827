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
}
