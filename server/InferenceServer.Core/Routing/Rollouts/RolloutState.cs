namespace InferenceServer.Core.Routing.Rollouts;

/// <summary>Where a rollout stands.</summary>
public enum RolloutState
{
    /// <summary>The canary takes the current step's share; passing gates promote it, a failing gate rolls it back.</summary>
    Progressing,

    /// <summary>Held at the current step by an operator (or before the first one, when declared to start paused): the gates still roll back, never promote.</summary>
    Paused,

    /// <summary>The canary reached the last step and takes all the traffic.</summary>
    Promoted,

    /// <summary>A gate failed: the canary takes no traffic.</summary>
    RolledBack,

    /// <summary>An operator stopped the rollout: the canary takes no traffic.</summary>
    Aborted,
}
