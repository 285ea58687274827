namespace InferenceServer.Core.Repository;

/// <summary>A parsed and validated model configuration and the warnings the loader should log.</summary>
public sealed record ModelConfigReadResult
{
    /// <summary>The configuration.</summary>
    public required ModelConfig Config { get; init; }

    /// <summary>Unknown and unsupported fields that were ignored, in file order.</summary>
    public IReadOnlyList<ModelConfigWarning> Warnings { get; init; } = [];
}
