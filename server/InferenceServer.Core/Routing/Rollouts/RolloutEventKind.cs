namespace InferenceServer.Core.Routing.Rollouts;

/// <summary>What happened to a rollout, as its history records it.</summary>
public enum RolloutEventKind
{
    /// <summary>The rollout began (at its first step, or paused before it).</summary>
    Started,

    /// <summary>Held by an operator.</summary>
    Paused,

    /// <summary>Released by an operator.</summary>
    Resumed,

    /// <summary>Moved to the next step, by its gates or by an operator.</summary>
    Promoted,

    /// <summary>A gate failed and the canary was set to 0%.</summary>
    RolledBack,

    /// <summary>An operator stopped it and the canary was set to 0%.</summary>
    Aborted,
}
