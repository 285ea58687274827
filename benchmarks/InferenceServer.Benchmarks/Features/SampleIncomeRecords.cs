namespace InferenceServer.Benchmarks.Features;

/// <summary>
/// Four raw income records the feature-view and drift benchmarks cycle through: income's numeric and categorical fields,
/// by name, and their values in that order (one '?' for a missing category).
/// </summary>
internal static class SampleIncomeRecords
{
    /// <summary>The numeric fields, in the order of each record's numbers.</summary>
    public static readonly string[] NumberFields = ["age", "education_num", "hours_per_week", "capital_gain", "capital_loss"];

    /// <summary>The categorical fields, in the order of each record's texts.</summary>
    public static readonly string[] TextFields = ["workclass", "education", "marital_status", "occupation", "relationship", "sex"];

    /// <summary>The records.</summary>
    public static readonly (double[] Numbers, string[] Texts)[] Records =
    [
        ([52, 14, 50, 15024, 0], ["Self-emp-inc", "Masters", "Married-civ-spouse", "Exec-managerial", "Husband", "Male"]),
        ([23, 9, 30, 0, 0], ["Private", "HS-grad", "Never-married", "Other-service", "Own-child", "Female"]),
        ([41, 13, 45, 0, 1902], ["Local-gov", "Bachelors", "Divorced", "Prof-specialty", "Unmarried", "Female"]),
        ([35, 10, 40, 0, 0], ["?", "Some-college", "Married-civ-spouse", "Craft-repair", "Husband", "Male"]),
    ];
}
