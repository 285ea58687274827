namespace InferenceServer.Core.Repository;

/// <summary>One execution accelerator (name and parameters).</summary>
public sealed record ExecutionAcceleratorConfig
{
    /// <summary><c>name</c>, e.g. <c>tensorrt</c>, <c>openvino</c>.</summary>
    public required string Name { get; init; }

    /// <summary><c>parameters</c>.</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();
}
