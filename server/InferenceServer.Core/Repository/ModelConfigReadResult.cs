namespace InferenceServer.Core.Repository;

/// <summary>A parsed and validated model configuration, with what the loader should log and remember about it.</summary>
internal sealed record ModelConfigReadResult
{
    /// <summary>The configuration, with Triton's defaults filled in. Not changed once read: code that derives another config clones it.</summary>
    public required ModelConfig Config { get; init; }

    /// <summary>Unknown and unsupported fields that were ignored, in file order.</summary>
    public IReadOnlyList<ModelConfigWarning> Warnings { get; init; } = [];

    /// <summary>
    /// The warnings about fields the schema does not have (most likely misspelt): not part of the configuration, kept
    /// beside it so that a load that fails later can name them (<see cref="ModelConfigWarning.AppendUnknownFields"/>).
    /// </summary>
    public IReadOnlyList<ModelConfigWarning> UnknownFields { get; init; } = [];

    /// <summary>
    /// Checks a config read by <paramref name="positions"/>' reader (against <paramref name="limits"/>, none when null),
    /// fills in its defaults and collects the warnings.
    /// </summary>
    internal static ModelConfigReadResult Validate(ModelConfig config, string fileName, ConfigPositions positions, List<ModelConfigWarning> unknownFields,
        ModelConfigLimits? limits)
    {
        var warnings = new List<ModelConfigWarning>(unknownFields);
        try
        {
            new ModelConfigValidator(fileName, positions, warnings, limits ?? ModelConfigLimits.None).Validate(config);
        }
        catch (ModelConfigException e)
        {
            throw e.WithUnknownFields(unknownFields);
        }
        ModelConfigDefaults.Apply(config);
        return new ModelConfigReadResult
        {
            Config = config,
            Warnings = warnings.OrderBy(w => w.Line).ThenBy(w => w.Column).ToList(),
            UnknownFields = unknownFields,
        };
    }
}
