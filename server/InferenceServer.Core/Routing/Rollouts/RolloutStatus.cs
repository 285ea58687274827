using InferenceServer.Core.Routing.Config;

namespace InferenceServer.Core.Routing.Rollouts;

/// <summary>One reading of a rollout, for the rollout API: where it stands, the current step's figures, and its history.</summary>
public sealed record RolloutStatus
{
    /// <summary>The route's name.</summary>
    public required string Route { get; init; }

    /// <summary>The declaration, with its defaults filled in: the canary, baseline, steps and gates. Read only.</summary>
    public required Rollout Config { get; init; }

    /// <summary>Where the rollout stands.</summary>
    public required RolloutState State { get; init; }

    /// <summary>The current step, from 1 to the number of steps; 0 before the first (declared to start paused).</summary>
    public required int Step { get; init; }

    /// <summary>The canary's share of the traffic now, in per cent; the baseline has the rest.</summary>
    public required uint CanaryPercent { get; init; }

    /// <summary>When the current step began (or the rollout ended).</summary>
    public required DateTimeOffset StepStarted { get; init; }

    /// <summary>How long the current step has run.</summary>
    public required TimeSpan StepElapsed { get; init; }

    /// <summary>What the current step waits for before its gates can promote it (requests, time, the operator); null when nothing.</summary>
    public string? Waiting { get; init; }

    /// <summary>The canary's figures in the current step.</summary>
    public required VariantWindowSnapshot Canary { get; init; }

    /// <summary>The baseline's figures in the current step.</summary>
    public required VariantWindowSnapshot Baseline { get; init; }

    /// <summary>Decisions compared between the baseline and the shadowed canary in the current step; null when the canary is not shadowed.</summary>
    public long? Decisions { get; init; }

    /// <summary>Of those, the ones the two decided differently; null when the canary is not shadowed.</summary>
    public long? Flips { get; init; }

    /// <summary>Steps promoted so far, by the gates or an operator.</summary>
    public required long Promotions { get; init; }

    /// <summary>Rollbacks so far (0 or 1: a rollback ends the rollout).</summary>
    public required long Rollbacks { get; init; }

    /// <summary>What happened, oldest first (the most recent <see cref="RolloutController.HistoryCapacity"/> events).</summary>
    public required IReadOnlyList<RolloutEvent> History { get; init; }
}
