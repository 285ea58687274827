using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace InferenceServer.FunctionalTests.Drift;

/// <summary>
/// Income records drawn from one fixed distribution (seeded), as a training CSV or as predict records; the age can be
/// shifted, so traffic differs from training in exactly one feature.
/// </summary>
internal static class IncomeTraffic
{
    private static readonly string[] Workclass = ["Private", "Self-emp-not-inc", "Self-emp-inc", "Federal-gov", "Local-gov", "State-gov"];
    private static readonly string[] Education = ["HS-grad", "Some-college", "Bachelors", "Masters", "Doctorate", "11th"];
    private static readonly string[] Marital = ["Married-civ-spouse", "Never-married", "Divorced"];
    private static readonly string[] Occupation = ["Prof-specialty", "Craft-repair", "Exec-managerial", "Adm-clerical", "Sales"];
    private static readonly string[] Relationship = ["Husband", "Wife", "Own-child", "Not-in-family"];
    private static readonly string[] Sex = ["Male", "Female"];

    public const string Header = "id,age,education_num,hours_per_week,capital_gain,capital_loss,workclass,education,marital_status,occupation,relationship,sex";

    /// <summary>One record's raw values, in <see cref="Header"/>'s order after the id.</summary>
    public static object[] Draw(Random random, int ageShift)
    {
        var gain = random.Next(10) == 0 ? random.Next(100, 20_000) : 0;
        var loss = random.Next(20) == 0 ? random.Next(100, 2_000) : 0;
        return
        [
            random.Next(17, 61) + ageShift, random.Next(1, 17), random.Next(10, 81), gain, loss,
            Pick(random, Workclass), Pick(random, Education), Pick(random, Marital), Pick(random, Occupation), Pick(random, Relationship), Pick(random, Sex),
        ];
    }

    /// <summary>Writes <paramref name="rows"/> training records to a CSV file.</summary>
    public static void WriteCsv(string path, int rows, int seed)
    {
        var random = new Random(seed);
        var text = new StringBuilder(Header).Append('\n');
        for (var i = 0; i < rows; i++)
        {
            text.Append(i.ToString(CultureInfo.InvariantCulture));
            foreach (var value in Draw(random, 0))
            {
                text.Append(',').Append(Convert.ToString(value, CultureInfo.InvariantCulture));
            }
            text.Append('\n');
        }
        File.WriteAllText(path, text.ToString());
    }

    /// <summary>A predict body with <paramref name="rows"/> records.</summary>
    public static string PredictBody(Random random, int rows, int ageShift)
    {
        var names = Header.Split(',')[1..];
        var records = new JsonArray();
        for (var i = 0; i < rows; i++)
        {
            var values = Draw(random, ageShift);
            var record = new JsonObject();
            for (var f = 0; f < names.Length; f++)
            {
                record[names[f]] = values[f] is string text ? JsonValue.Create(text) : JsonValue.Create(Convert.ToDouble(values[f], CultureInfo.InvariantCulture));
            }
            records.Add(record);
        }
        return new JsonObject { ["records"] = records }.ToJsonString();
    }

    private static string Pick(Random random, string[] values) => values[random.Next(values.Length)];
}
