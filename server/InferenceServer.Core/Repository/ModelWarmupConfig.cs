namespace InferenceServer.Core.Repository;

/// <summary>One <c>model_warmup</c> entry.</summary>
public sealed record ModelWarmupConfig
{
    /// <summary><c>name</c>.</summary>
    public string Name { get; init; } = "";

    /// <summary><c>batch_size</c>.</summary>
    public int BatchSize { get; init; } = 1;

    /// <summary><c>count</c>: how many times to run it; Triton treats 0 as 1.</summary>
    public int Count { get; init; } = 1;

    /// <summary><c>inputs</c>: per input name, how to make its data.</summary>
    public IReadOnlyDictionary<string, WarmupInputConfig> Inputs { get; init; } = new Dictionary<string, WarmupInputConfig>();
}
