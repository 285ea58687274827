namespace InferenceServer.Core.Residency;

/// <summary>
/// What a load needs done to fit its budgets: the models to unload first (least recently used first), or why it cannot
/// fit. A refusal with <see cref="RetryAfter"/> may fit later (models in the anti-thrash window become evictable then);
/// one without it cannot fit until the budget or the pinned models change.
/// </summary>
internal sealed record EvictionPlan(IReadOnlyList<EvictionCandidate> Victims, string? Refusal, TimeSpan? RetryAfter)
{
    /// <summary>True when the load fits once <see cref="Victims"/> are unloaded.</summary>
    public bool Fits => Refusal is null;
}
