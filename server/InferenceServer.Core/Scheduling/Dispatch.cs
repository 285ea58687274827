namespace InferenceServer.Core.Scheduling;

/// <summary>What one dispatch pass of the <see cref="ModelScheduler"/> decided under its lock, to be carried out once the lock is released.</summary>
/// <param name="Expired">Requests whose queue timeout rejected them, chained by <see cref="QueuedRequest.NextExpired"/>.</param>
/// <param name="Started">Instances handed a batch, chained by <see cref="InstanceWorker.NextStarted"/>.</param>
/// <param name="Drained">The scheduler is closing and nothing is left to run.</param>
/// <param name="Granted">Rate-limiter leases granted meanwhile, chained by <see cref="ResourceLease.NextGranted"/>, whose owners are to be told.</param>
internal readonly record struct Dispatch(QueuedRequest? Expired, InstanceWorker? Started, bool Drained, ResourceLease? Granted = null);
