namespace InferenceServer.Core.Repository;

/// <summary>What happens to a request whose queue timeout expires.</summary>
public enum TimeoutAction
{
    /// <summary>REJECT: fail the request.</summary>
    Reject,
    /// <summary>DELAY: keep it, behind requests that have not timed out.</summary>
    Delay,
}
