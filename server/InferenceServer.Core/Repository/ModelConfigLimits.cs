namespace InferenceServer.Core.Repository;

/// <summary>
/// Bounds on what a config may ask the server to spend: instances per version and the warm-up's runs and data. A config
/// past one fails validation naming the field and the setting that bounds it, before anything is created.
/// </summary>
/// <param name="MaxInstances">The most instances one version may have, over all its groups.</param>
/// <param name="MaxWarmupCount">The largest <c>count</c> of one warm-up sample.</param>
/// <param name="MaxWarmupBytes">The most input bytes one warm-up sample may make.</param>
internal sealed record ModelConfigLimits(int MaxInstances, int MaxWarmupCount, long MaxWarmupBytes)
{
    /// <summary>What a config is held to where no server settings apply (tools reading a config file): what the arithmetic allows.</summary>
    public static readonly ModelConfigLimits None = new(int.MaxValue, int.MaxValue, Array.MaxLength);
}
