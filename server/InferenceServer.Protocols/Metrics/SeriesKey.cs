namespace InferenceServer.Protocols.Metrics;

/// <summary>
/// The label set that identifies one series of a family, sorted by label name so that the same
/// tags recorded in another order land in the same series.
/// </summary>
internal sealed class SeriesKey
{
    public SeriesKey(KeyValuePair<string, string>[] labels, int hash)
    {
        Labels = labels;
        Hash = hash;
    }

    /// <summary>Label name/value pairs, sorted by name.</summary>
    public KeyValuePair<string, string>[] Labels { get; }

    /// <summary>An order-independent hash of the labels (see <see cref="SeriesKeyComparer"/>).</summary>
    public int Hash { get; }
}
