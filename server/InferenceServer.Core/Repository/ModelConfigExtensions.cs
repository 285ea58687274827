using InferenceServer.Core.Backends;

namespace InferenceServer.Core.Repository;

/// <summary>Values the server derives from a <see cref="ModelConfig"/> as Triton derives them.</summary>
public static class ModelConfigExtensions
{
    /// <summary>The instance groups a config gives, or Triton's one default group (one instance, KIND_AUTO) when it gives none.</summary>
    public static IReadOnlyList<ModelInstanceGroup> EffectiveInstanceGroups(this ModelConfig config) =>
        config.InstanceGroup.Count > 0 ? config.InstanceGroup : [new ModelInstanceGroup { Count = 1, Kind = ModelInstanceGroup.Types.Kind.Auto }];

    /// <summary>
    /// Where a group's instances run. KIND_MODEL (placement left to the backend) is AUTO here, the nearest meaning for
    /// this server's backends; the reader warns about it.
    /// </summary>
    public static InstanceKind ToInstanceKind(this ModelInstanceGroup.Types.Kind kind) => kind switch
    {
        ModelInstanceGroup.Types.Kind.Gpu => InstanceKind.Gpu,
        ModelInstanceGroup.Types.Kind.Cpu => InstanceKind.Cpu,
        _ => InstanceKind.Auto,
    };

    /// <summary>
    /// Chooses, from the versions present on disk, the ones <paramref name="policy"/> serves, in ascending order. No
    /// policy, or one that names no form, is Triton's default: the latest version.
    /// </summary>
    public static IReadOnlyList<long> Select(this ModelVersionPolicy? policy, IReadOnlyCollection<long> available)
    {
        var sorted = available.Order().ToList();
        return policy?.PolicyChoiceCase switch
        {
            ModelVersionPolicy.PolicyChoiceOneofCase.All => sorted,
            ModelVersionPolicy.PolicyChoiceOneofCase.Specific => sorted.Where(policy.Specific.Versions.Contains).ToList(),
            ModelVersionPolicy.PolicyChoiceOneofCase.Latest => sorted.Skip(Math.Max(0, sorted.Count - (int)Math.Min(policy.Latest.NumVersions, int.MaxValue))).ToList(),
            _ => sorted.Skip(Math.Max(0, sorted.Count - 1)).ToList(),
        };
    }

    /// <summary>The config's <c>parameters</c> as name → <c>string_value</c>, as the backends take them.</summary>
    public static Dictionary<string, string> StringParameters(this ModelConfig config)
    {
        var parameters = new Dictionary<string, string>(config.Parameters.Count, StringComparer.Ordinal);
        foreach (var (key, value) in config.Parameters)
        {
            parameters[key] = value.StringValue;
        }
        return parameters;
    }
}
