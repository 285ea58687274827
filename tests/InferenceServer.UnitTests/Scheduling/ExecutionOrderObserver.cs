using System.Collections.Concurrent;
using InferenceServer.Core.Scheduling;

namespace InferenceServer.UnitTests.Scheduling;

/// <summary>Appends its model's name to a shared log at each execution: the order in which several models ran.</summary>
internal sealed class ExecutionOrderObserver(string model, ConcurrentQueue<string> log) : ISchedulerObserver
{
    public void RequestQueued()
    {
    }

    public void RequestDequeued()
    {
    }

    public void BatchExecuted(int batchSize, TimeSpan computeInput, TimeSpan computeInfer, TimeSpan computeOutput) => log.Enqueue(model);

    public void RequestSucceeded(TimeSpan queue, TimeSpan computeInput, TimeSpan computeInfer, TimeSpan computeOutput)
    {
    }

    public void RequestFailed(SchedulerFailure failure, TimeSpan queue)
    {
    }
}
