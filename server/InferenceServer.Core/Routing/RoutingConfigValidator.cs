using InferenceServer.Core.Repository;
using InferenceServer.Core.Routing.Config;

namespace InferenceServer.Core.Routing;

/// <summary>
/// Checks a parsed <see cref="RoutingConfig"/> and fills in its defaults, so that everything downstream reads plain
/// values: every variant names its model, the header and windows have their sizes. A declaration that cannot route
/// (no variant, a name twice, a shadow or canary that is not a variant, steps that do not end at 100) is refused with
/// the field and where it was written.
/// </summary>
internal static class RoutingConfigValidator
{
    /// <summary>The most recent request ids an experiment may keep.</summary>
    public const uint MaxExperimentWindow = 10_000_000;

    /// <summary>The most copies a shadow queue may hold.</summary>
    public const uint MaxShadowQueue = 65_536;

    public static void Validate(RoutingConfig config, string routeName, bool besideModel, string fileName, ConfigPositions positions)
    {
        var check = new Checker(fileName, positions);
        if (config.Variant.Count == 0)
        {
            throw check.Error("variant", "a route needs at least one variant");
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        long totalWeight = 0;
        for (var i = 0; i < config.Variant.Count; i++)
        {
            var variant = config.Variant[i];
            var path = $"variant[{i}]";
            if (!IsName(variant.Name))
            {
                throw check.Error($"{path}.name", $"'{variant.Name}' is not a variant name: use letters, digits, '_', '-' and '.'");
            }
            if (!names.Add(variant.Name))
            {
                throw check.Error($"{path}.name", $"variant '{variant.Name}' is declared twice");
            }
            if (variant.Model.Length == 0)
            {
                if (!besideModel)
                {
                    throw check.Error($"{path}.model", "required: the route is not declared beside a model's config.pbtxt, so each variant names its model");
                }
                variant.Model = routeName;
            }
            else if (variant.Model.Contains('/') || variant.Model.Contains('\\') || variant.Model is "." or "..")
            {
                throw check.Error($"{path}.model", $"'{variant.Model}' is not a model name");
            }
            if (variant.Version < 0)
            {
                throw check.Error($"{path}.version", $"{variant.Version} is not a version: 0 (the newest) or a version number");
            }
            totalWeight += variant.Weight;
        }
        if (config.VariantHeader.Length == 0)
        {
            config.VariantHeader = RoutingConfigReader.DefaultVariantHeader;
        }
        RequireHeaderName(check, "variant_header", config.VariantHeader);
        if (config.Sticky is { } sticky)
        {
            if (sticky.Parameter.Length == 0)
            {
                sticky.Parameter = RoutingConfigReader.DefaultKeyParameter;
            }
            if (sticky.Header.Length > 0)
            {
                RequireHeaderName(check, "sticky.header", sticky.Header);
            }
        }
        if (config.Shadow is { } shadow)
        {
            RequireVariant(check, names, "shadow.variant", shadow.Variant);
            if (shadow.Variant == config.Variant[0].Name)
            {
                throw check.Error("shadow.variant", "the primary variant cannot shadow itself");
            }
            if (!(shadow.Percent > 0 && shadow.Percent <= 100))
            {
                throw check.Error("shadow.percent", $"{shadow.Percent} is not a share of the traffic: more than 0, at most 100");
            }
            shadow.QueueCapacity = shadow.QueueCapacity == 0 ? 256 : shadow.QueueCapacity;
            if (shadow.QueueCapacity > MaxShadowQueue)
            {
                throw check.Error("shadow.queue_capacity", $"{shadow.QueueCapacity} is more than {MaxShadowQueue}");
            }
            shadow.DecisionThreshold = shadow.DecisionThreshold == 0 ? 0.5 : shadow.DecisionThreshold;
        }
        if (config.Rollout is { } rollout)
        {
            RequireVariant(check, names, "rollout.canary", rollout.Canary);
            rollout.Baseline = rollout.Baseline.Length == 0 ? config.Variant[0].Name : rollout.Baseline;
            RequireVariant(check, names, "rollout.baseline", rollout.Baseline);
            if (rollout.Baseline == rollout.Canary)
            {
                throw check.Error("rollout.baseline", "the canary cannot be its own baseline");
            }
            if (rollout.Steps.Count == 0 || rollout.Steps[^1] != 100)
            {
                throw check.Error("rollout.steps", "the steps are the canary's weights in per cent and must end at 100");
            }
            for (var i = 0; i < rollout.Steps.Count; i++)
            {
                if (rollout.Steps[i] == 0 || (i > 0 && rollout.Steps[i] <= rollout.Steps[i - 1]))
                {
                    throw check.Error("rollout.steps", $"step {i + 1} ({rollout.Steps[i]}%) must be more than 0 and more than the step before it");
                }
            }
            rollout.MinStepSeconds = rollout.MinStepSeconds == 0 ? 60 : rollout.MinStepSeconds;
            rollout.MinRequests = rollout.MinRequests == 0 ? 100 : rollout.MinRequests;
            rollout.MaxErrorRateIncrease = rollout.MaxErrorRateIncrease == 0 ? 0.01 : rollout.MaxErrorRateIncrease;
            rollout.MaxP99Ratio = rollout.MaxP99Ratio == 0 ? 1.5 : rollout.MaxP99Ratio;
            if (rollout.MaxErrorRateIncrease is < 0 or > 1 || rollout.MaxP99Ratio < 1 || rollout.MaxDecisionFlipRate is < 0 or > 1)
            {
                throw check.Error("rollout", "max_error_rate_increase and max_decision_flip_rate are shares from 0 to 1, max_p99_ratio is at least 1");
            }
        }
        else if (totalWeight == 0)
        {
            throw check.Error("variant", "every weight is 0: give at least one variant a weight");
        }
        if (config.Experiment is { } experiment)
        {
            experiment.Control = experiment.Control.Length == 0 ? config.Variant[0].Name : experiment.Control;
            RequireVariant(check, names, "experiment.control", experiment.Control);
            experiment.Window = experiment.Window == 0 ? 100_000 : experiment.Window;
            if (experiment.Window > MaxExperimentWindow)
            {
                throw check.Error("experiment.window", $"{experiment.Window} is more than {MaxExperimentWindow} request ids");
            }
            experiment.PredictionThreshold = experiment.PredictionThreshold == 0 ? 0.5 : experiment.PredictionThreshold;
            experiment.Alpha = experiment.Alpha == 0 ? 0.05 : experiment.Alpha;
            experiment.Power = experiment.Power == 0 ? 0.8 : experiment.Power;
            if (experiment.Alpha is <= 0 or >= 1 || experiment.Power is <= 0 or >= 1)
            {
                throw check.Error("experiment", "alpha and power are probabilities between 0 and 1");
            }
        }
    }

    private static void RequireVariant(Checker check, HashSet<string> names, string path, string name)
    {
        if (!names.Contains(name))
        {
            throw check.Error(path, name.Length == 0 ? "required: the name of one of the route's variants" : $"'{name}' is not one of the route's variants ({string.Join(", ", names)})");
        }
    }

    // The header travels as an HTTP header and as gRPC metadata (a request header, and a response trailer naming the
    // variant): a name both accept, and not one gRPC keeps for itself or reads as binary.
    private static void RequireHeaderName(Checker check, string path, string name)
    {
        var valid = name.Length is > 0 and <= 128 && !name.StartsWith("grpc-", StringComparison.OrdinalIgnoreCase)
            && !name.EndsWith("-bin", StringComparison.OrdinalIgnoreCase);
        foreach (var c in name)
        {
            valid &= char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.';
        }
        if (!valid)
        {
            throw check.Error(path, $"'{name}' is not a header name: use letters, digits, '-', '_' and '.', not starting with 'grpc-' nor ending with '-bin'");
        }
    }

    private static bool IsName(string name)
    {
        if (name.Length is 0 or > 128)
        {
            return false;
        }
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
            {
                return false;
            }
        }
        return true;
    }

    private readonly struct Checker(string fileName, ConfigPositions positions)
    {
        public ModelConfigException Error(string path, string reason)
        {
            var (line, column) = positions.Field(path);
            return new ModelConfigException(fileName, line, column, path, reason);
        }
    }
}
