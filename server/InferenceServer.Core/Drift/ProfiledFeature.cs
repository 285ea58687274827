using System.Text.Json.Serialization;

namespace InferenceServer.Core.Drift;

/// <summary>
/// The training distribution of one feature (or one prediction output) in a <see cref="TrainingProfile"/>. A numeric one
/// has quantile bins (<see cref="Edges"/>, <see cref="Proportions"/>) for the PSI and the percentiles
/// (<see cref="Quantiles"/>) whose piecewise-linear CDF the KS statistic is measured against; a categorical one has its
/// most frequent <see cref="Categories"/> and their <see cref="Proportions"/>, the last one for every other value.
/// </summary>
public sealed class ProfiledFeature
{
    /// <summary>The kind of a numeric feature.</summary>
    public const string NumericKind = "numeric";

    /// <summary>The kind of a categorical feature.</summary>
    public const string CategoricalKind = "categorical";

    /// <summary>The feature's name: a view's raw field, an input tensor's column (<c>input[3]</c>), or an output (<c>probability</c>).</summary>
    [JsonPropertyName("name")]
    public string Name { get; set; } = "";

    /// <summary><see cref="NumericKind"/> or <see cref="CategoricalKind"/>.</summary>
    [JsonPropertyName("kind")]
    public string Kind { get; set; } = NumericKind;

    /// <summary>How many rows had a value.</summary>
    [JsonPropertyName("count")]
    public long Count { get; set; }

    /// <summary>How many rows had none (they are in no bin).</summary>
    [JsonPropertyName("missing")]
    public long Missing { get; set; }

    /// <summary>
    /// Numeric: the upper bounds of every bin but the last, ascending and distinct; bin i holds the values above
    /// edge i-1 and at most edge i.
    /// </summary>
    [JsonPropertyName("edges")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double[]? Edges { get; set; }

    /// <summary>Numeric: the share of the training values in each bin. Categorical: of each category, then of every other value.</summary>
    [JsonPropertyName("proportions")]
    public double[] Proportions { get; set; } = [];

    /// <summary>Numeric: the 0th to 100th percentiles of the training values (101 of them).</summary>
    [JsonPropertyName("quantiles")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double[]? Quantiles { get; set; }

    /// <summary>Numeric: the training mean.</summary>
    [JsonPropertyName("mean")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Mean { get; set; }

    /// <summary>Categorical: the most frequent values, most frequent first.</summary>
    [JsonPropertyName("categories")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string[]? Categories { get; set; }

    /// <summary>True for a numeric feature.</summary>
    [JsonIgnore]
    public bool IsNumeric => Kind == NumericKind;

    /// <summary>Throws <see cref="FormatException"/> naming what is inconsistent.</summary>
    internal void Validate(string where)
    {
        if (string.IsNullOrEmpty(Name))
        {
            throw new FormatException($"{where}: a feature has no name");
        }
        if (Kind == NumericKind)
        {
            var edges = Edges ?? throw new FormatException($"{where}: numeric feature '{Name}' has no edges");
            if (Proportions.Length != edges.Length + 1)
            {
                throw new FormatException($"{where}: numeric feature '{Name}' has {edges.Length} edges, so {edges.Length + 1} proportions were expected, not {Proportions.Length}");
            }
            for (var i = 1; i < edges.Length; i++)
            {
                if (!(edges[i] > edges[i - 1]))
                {
                    throw new FormatException($"{where}: numeric feature '{Name}' has edges that do not ascend ({edges[i - 1]} then {edges[i]})");
                }
            }
            if (Quantiles is not { Length: > 1 } quantiles)
            {
                throw new FormatException($"{where}: numeric feature '{Name}' has no quantiles");
            }
            for (var i = 1; i < quantiles.Length; i++)
            {
                if (quantiles[i] < quantiles[i - 1])
                {
                    throw new FormatException($"{where}: numeric feature '{Name}' has quantiles that descend ({quantiles[i - 1]} then {quantiles[i]})");
                }
            }
        }
        else if (Kind == CategoricalKind)
        {
            var categories = Categories ?? throw new FormatException($"{where}: categorical feature '{Name}' has no categories");
            if (Proportions.Length != categories.Length + 1)
            {
                throw new FormatException($"{where}: categorical feature '{Name}' has {categories.Length} categories, so {categories.Length + 1} proportions (the last for other values) were expected, not {Proportions.Length}");
            }
        }
        else
        {
            throw new FormatException($"{where}: feature '{Name}' has kind '{Kind}'; expected '{NumericKind}' or '{CategoricalKind}'");
        }
    }
}
