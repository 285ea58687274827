namespace InferenceServer.Core.Scheduling;

/// <summary>What one dispatch pass of the <see cref="ModelScheduler"/> decided under its lock, to be carried out once the lock is released.</summary>
/// <param name="Expired">Requests whose queue timeout rejected them, chained by <see cref="QueuedRequest.NextExpired"/>.</param>
/// <param name="Started">Instances handed a batch, chained by <see cref="InstanceWorker.NextStarted"/>.</param>
/// <param name="Drained">The scheduler is closing and nothing is left to run.</param>
internal readonly record struct Dispatch(QueuedRequest? Expired, InstanceWorker? Started, bool Drained);
