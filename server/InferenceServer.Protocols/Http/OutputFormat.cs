namespace InferenceServer.Protocols.Http;

/// <summary>
/// Which outputs the client wants as binary data: the request-level <c>binary_data_output</c>,
/// overridden per output by its <c>binary_data</c> parameter.
/// </summary>
internal sealed class OutputFormat(bool binaryByDefault, Dictionary<string, bool>? perOutput)
{
    /// <summary>All outputs as binary (the raw-binary request form).</summary>
    public static readonly OutputFormat AllBinary = new(true, null);

    /// <summary>All outputs as JSON.</summary>
    public static readonly OutputFormat AllJson = new(false, null);

    /// <summary>True when output <paramref name="name"/> goes after the JSON as binary data.</summary>
    public bool IsBinary(string name) =>
        perOutput is not null && perOutput.TryGetValue(name, out var binary) ? binary : binaryByDefault;
}
