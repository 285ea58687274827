using InferenceServer.Core.Backends;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Scheduling;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Benchmarks.Scheduling.Old;

/// <summary>Where a <see cref="OldQueuedRequest"/> is in its life; guarded by the scheduler's queue lock.</summary>
internal enum OldRequestState
{
    /// <summary>Rented, not yet in a queue: a cancellation that fires now is noticed at enqueue.</summary>
    New,
    /// <summary>Waiting in a priority level's queue; cancellation and timeouts may still remove it.</summary>
    Queued,
    /// <summary>Taken into a batch; it will complete with the batch, whatever its token does.</summary>
    Running,
    /// <summary>Left the queue without running (cancelled, timed out).</summary>
    Finished,
}
