namespace InferenceServer.Core.Repository;

/// <summary>
/// Triton's defaults for what a checked config leaves at zero, filled in so that the config the server acts on and
/// reports (the config endpoints) says what is used: the latest version, one instance per group, warm-up samples of
/// batch size 1 run once.
/// </summary>
internal static class ModelConfigDefaults
{
    /// <summary>Fills in <paramref name="config"/>'s defaults in place.</summary>
    public static void Apply(ModelConfig config)
    {
        if (config.VersionPolicy is null || config.VersionPolicy.PolicyChoiceCase == ModelVersionPolicy.PolicyChoiceOneofCase.None)
        {
            config.VersionPolicy = new ModelVersionPolicy { Latest = new ModelVersionPolicy.Types.Latest { NumVersions = 1 } };
        }
        foreach (var group in config.InstanceGroup)
        {
            // Triton treats an unset (0) count as 1.
            group.Count = Math.Max(1, group.Count);
        }
        foreach (var warmup in config.ModelWarmup)
        {
            // A checked config gives no batch_size of 0, so 0 is an absent one; Triton runs a sample of count 0 once.
            warmup.BatchSize = Math.Max(1u, warmup.BatchSize);
            warmup.Count = Math.Max(1u, warmup.Count);
        }
    }

    /// <summary>
    /// Names each unnamed instance group <c>&lt;model&gt;_&lt;index&gt;</c>, as Triton does and reports, once the config
    /// has its model's name.
    /// </summary>
    public static void NameInstanceGroups(ModelConfig config)
    {
        for (var i = 0; i < config.InstanceGroup.Count; i++)
        {
            if (config.InstanceGroup[i].Name.Length == 0)
            {
                config.InstanceGroup[i].Name = $"{config.Name}_{i}";
            }
        }
    }
}
