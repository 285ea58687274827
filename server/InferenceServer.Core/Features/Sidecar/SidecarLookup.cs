namespace InferenceServer.Core.Features.Sidecar;

/// <summary>
/// A lookup as read from the wire (<see cref="SidecarMessages.ReadLookup"/>): for each of <see cref="Keys"/>, the
/// hash fields <see cref="Fields"/> of the online store, answered within <see cref="TimeoutMilliseconds"/>.
/// </summary>
public sealed class SidecarLookup
{
    /// <summary>A lookup with its wire fields.</summary>
    public SidecarLookup(uint id, uint timeoutMilliseconds, string view, string[] fields, string[] keys)
    {
        Id = id;
        TimeoutMilliseconds = timeoutMilliseconds;
        View = view;
        Fields = fields;
        Keys = keys;
    }

    /// <summary>The id its answer carries; chosen by the client, unique among the connection's pending lookups.</summary>
    public uint Id { get; }

    /// <summary>How long the client waits for the answer, from when it sent the lookup.</summary>
    public uint TimeoutMilliseconds { get; }

    /// <summary>The feature view the lookup is for (for metrics and messages; the keys are already formatted).</summary>
    public string View { get; }

    /// <summary>The hash fields to read from each key, in the order every row answers them.</summary>
    public string[] Fields { get; }

    /// <summary>The store keys, in the order the rows answer them.</summary>
    public string[] Keys { get; }
}
