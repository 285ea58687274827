namespace InferenceServer.Core.Routing.Rollouts;

/// <summary>One entry of a rollout's history.</summary>
/// <param name="Time">When it happened.</param>
/// <param name="Kind">What happened.</param>
/// <param name="FromPercent">The canary's share of the traffic before, in per cent.</param>
/// <param name="ToPercent">The canary's share after.</param>
/// <param name="Reason">Why: the gate and its figures, or who asked.</param>
public sealed record RolloutEvent(DateTimeOffset Time, RolloutEventKind Kind, uint FromPercent, uint ToPercent, string Reason);
