using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Inference;

/// <summary>
/// One inference request as the protocols hand it to the core: decoded tensors (owned by the
/// request until it is disposed) and the scheduling parameters of the v2 protocol.
/// </summary>
public sealed class InferenceRequest : IDisposable
{
    private Dictionary<string, string>? _parameters;

    /// <summary>Model name.</summary>
    public required string ModelName { get; init; }

    /// <summary>Requested version; null or empty means the policy's choice (the latest ready one).</summary>
    public string? ModelVersion { get; init; }

    /// <summary>The client's request id, echoed in the response; may be empty.</summary>
    public string Id { get; set; } = "";

    /// <summary>Input tensors, by the names the client used.</summary>
    public List<Tensor> Inputs { get; } = [];

    /// <summary>Names of the outputs to return; empty means all of them.</summary>
    public List<string> RequestedOutputs { get; } = [];

    /// <summary>The <c>priority</c> parameter; 0 means the model's default level.</summary>
    public int Priority { get; set; }

    /// <summary>The <c>timeout</c> parameter in microseconds; 0 means the queue policy's default.</summary>
    public long TimeoutMicroseconds { get; set; }

    /// <summary>
    /// The request's parameters that the server does not act on itself, by name, as text (a boolean as true or false, a
    /// number as written); null when there are none. Routing policies may choose by them.
    /// </summary>
    public IReadOnlyDictionary<string, string>? Parameters => _parameters;

    /// <summary>Records parameter <paramref name="name"/>; a later value of the same name replaces an earlier one.</summary>
    public void SetParameter(string name, string value) => (_parameters ??= new Dictionary<string, string>(StringComparer.Ordinal))[name] = value;

    /// <summary>True once drift monitoring drew whether to sample the request (the feature stage draws for predict requests).</summary>
    internal bool DriftDrawn { get; set; }

    /// <summary>The raw rows the feature stage kept for drift monitoring (a sampled predict request); null otherwise.</summary>
    internal Features.FeatureRows? DriftRows { get; set; }

    /// <inheritdoc />
    public void Dispose()
    {
        DriftRows?.Dispose();
        DriftRows = null;
        foreach (var input in Inputs)
        {
            input.Dispose();
        }
        Inputs.Clear();
    }
}
