namespace InferenceServer.Core.Features.Sidecar;

/// <summary>
/// One lookup frame sent and not yet answered: the lookups coalesced into it, whose keys it carries one after the
/// other, so each gets its own rows of the answer back.
/// </summary>
internal sealed class PendingFrame(PendingLookup[] lookups, int keys)
{
    public PendingLookup[] Lookups { get; } = lookups;

    /// <summary>The keys of every lookup, hence the rows the answer must have.</summary>
    public int Keys { get; } = keys;

    /// <summary>Fails every lookup of the frame with <paramref name="status"/> and <paramref name="message"/>.</summary>
    public void Fail(SidecarLookupStatus status, string message)
    {
        foreach (var lookup in Lookups)
        {
            lookup.Complete(new SidecarLookupResult(status, message));
        }
    }

    /// <summary>Gives each lookup its rows of <paramref name="answer"/>, which holds one share for each of them.</summary>
    public void Answer(SidecarAnswer answer)
    {
        var row = 0;
        foreach (var lookup in Lookups)
        {
            lookup.Complete(new SidecarLookupResult(answer, row, lookup.Keys.Length));
            row += lookup.Keys.Length;
        }
    }
}
