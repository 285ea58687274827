namespace InferenceServer.Core.Routing.Shadow;

/// <summary>
/// A shadow mirror's cumulative counts since it started, for metrics and for a rollout's disagreement gate. Every
/// sampled copy ends exactly once: <see cref="Canceled"/> (the primary failed), <see cref="Dropped"/> (the queue was
/// full, or the mirror stopped before it ran), <see cref="Failed"/>, or <see cref="Compared"/>; until then it is
/// waiting for its primary, <see cref="Queued"/>, or running.
/// </summary>
/// <param name="Sampled">Requests picked for the shadow.</param>
/// <param name="Enqueued">Copies that entered the queue with their primary's answer.</param>
/// <param name="Dropped">Copies dropped: the queue was full when sampled or sent, or the mirror stopped first.</param>
/// <param name="Canceled">Copies whose primary failed, so there was nothing to compare with.</param>
/// <param name="Failed">Copies the shadow failed (or that could not be made or compared).</param>
/// <param name="Compared">Shadow answers compared with the primary's.</param>
/// <param name="Decisions">Decision values compared, over every decision output.</param>
/// <param name="Flips">Of those, the ones the shadow decided differently.</param>
/// <param name="Queued">Copies waiting in the queue now.</param>
/// <param name="Outputs">Per output name, by name.</param>
internal sealed record ShadowSnapshot(
    long Sampled,
    long Enqueued,
    long Dropped,
    long Canceled,
    long Failed,
    long Compared,
    long Decisions,
    long Flips,
    int Queued,
    IReadOnlyList<ShadowOutputSnapshot> Outputs)
{
    /// <summary>The share of decisions flipped; 0 before any.</summary>
    public double FlipRate => Decisions > 0 ? (double)Flips / Decisions : 0;
}
