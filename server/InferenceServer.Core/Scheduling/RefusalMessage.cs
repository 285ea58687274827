namespace InferenceServer.Core.Scheduling;

/// <summary>
/// The message a priority level's refusals carry, with the default bound and instance count it names: the same until
/// either changes, so it is built once for them rather than for each refusal.
/// </summary>
internal sealed record RefusalMessage(int QueueSize, int Instances, string Text);
