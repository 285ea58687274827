using System.Runtime.InteropServices;
using System.Text.Json;
using InferenceServer.Core.Features;
using InferenceServer.Core.Repository;

namespace InferenceServer.UnitTests.Features;

/// <summary>
/// models/income/features.pbtxt reproduces the encoding income was trained with, to the last bit of every float32:
/// the two example records give example_request.json's rows exactly, and records covering every category of every
/// field (and the unknown '?') give what the training encoder computes (double precision, rounded to float32 once),
/// transcribed here from the features.json the view replaced.
/// </summary>
public sealed class IncomeFeatureViewTests
{
    // features.json's numeric features: (field, log1p first, mean, std), in column order.
    private static readonly (string Field, bool Log1p, double Mean, double Std)[] Numeric =
    [
        ("age", false, 38.6, 13.6),
        ("education_num", false, 10.1, 2.6),
        ("hours_per_week", false, 40.4, 12.3),
        ("capital_gain", true, 0.74, 2.45),
        ("capital_loss", true, 0.35, 1.6),
    ];

    // features.json's one_hot_groups, in column order.
    private static readonly (string Field, string[] Categories)[] OneHot =
    [
        ("workclass", ["Private", "Self-emp-not-inc", "Self-emp-inc", "Federal-gov", "Local-gov", "State-gov", "Without-pay", "Never-worked"]),
        ("education", ["Preschool", "1st-4th", "5th-6th", "7th-8th", "9th", "10th", "11th", "12th", "HS-grad", "Some-college", "Assoc-voc",
            "Assoc-acdm", "Bachelors", "Masters", "Prof-school", "Doctorate"]),
        ("marital_status", ["Married-civ-spouse", "Never-married", "Divorced", "Separated", "Widowed", "Married-spouse-absent", "Married-AF-spouse"]),
        ("occupation", ["Prof-specialty", "Craft-repair", "Exec-managerial", "Adm-clerical", "Sales", "Other-service", "Machine-op-inspct",
            "Transport-moving", "Handlers-cleaners", "Farming-fishing", "Tech-support", "Protective-serv", "Priv-house-serv", "Armed-Forces"]),
        ("relationship", ["Husband", "Wife", "Own-child", "Not-in-family", "Other-relative", "Unmarried"]),
        ("sex", ["Female", "Male"]),
    ];

    private static readonly DateTimeOffset Now = DateTimeOffset.UnixEpoch;

    internal static FeatureView Income() =>
        FeatureViewReader.Parse(File.ReadAllText(Path.Combine(RepositoryPaths.Models, "income", FeatureView.FileName)), "income");

    /// <summary>The raw records of models/income/example_records.json.</summary>
    internal static List<Dictionary<string, JsonElement>> ExampleRecords()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryPaths.Models, "income", "example_records.json")));
        return [.. document.RootElement.EnumerateArray().Select(e => e.GetProperty("record").Deserialize<Dictionary<string, JsonElement>>()!)];
    }

    [Fact]
    public void The_view_fits_the_income_model_and_declares_its_store_and_labels()
    {
        var view = Income();
        FeatureViewReader.CheckModel(view, ModelConfigReader.ReadFile(Path.Combine(RepositoryPaths.Models, "income", "config.pbtxt")).Config);
        FeatureViewReader.CheckModel(view, ModelConfigReader.ReadFile(Path.Combine(RepositoryPaths.Models, "income_gbt", "config.pbtxt")).Config);
        Assert.Equal(58, Assert.Single(view.Outputs).Width);
        Assert.Equal(["id"], view.EntityKeys);
        Assert.Equal("income:42", view.StoreKey(["42"]));
        Assert.Equal(Numeric.Select(n => n.Field).Concat(OneHot.Select(g => g.Field)), view.StoreFields);
        Assert.Equal(["<=50K", ">50K"], view.Prediction!.Labels);
        Assert.Equal("probability", view.Prediction.Output);
    }

    [Fact]
    public void The_example_records_encode_to_the_rows_of_example_request_json_bit_for_bit()
    {
        var view = Income();
        var records = ExampleRecords();
        using var request = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryPaths.Models, "income", "example_request.json")));
        var expected = request.RootElement.GetProperty("inputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        Assert.Equal(records.Count * 58, expected.Length);

        using var rows = view.RentRows(records.Count);
        for (var row = 0; row < records.Count; row++)
        {
            foreach (var (name, value) in records[row])
            {
                Assert.True(view.TryGetField(name, out var field), $"the view has no field '{name}'");
                if (value.ValueKind == JsonValueKind.Number)
                {
                    rows.SetNumber(row, field, value.GetDouble());
                }
                else
                {
                    rows.SetText(row, field, value.GetString()!);
                }
            }
        }
        Assert.Equal(Bits(expected), Bits(Transform(view, rows)));
    }

    [Fact]
    public void Every_category_of_every_field_and_the_unknown_encode_as_the_training_encoder_did()
    {
        var view = Income();
        var records = new List<(double[] Numbers, string[] Texts)>();
        double[][] numbers = [[17, 1, 1, 0, 0], [38, 10, 40, 1, 1], [52, 14, 50, 15024, 99], [90, 16, 99, 99999, 4356]];
        foreach (var n in numbers)
        {
            for (var g = 0; g < OneHot.Length; g++)
            {
                foreach (var category in OneHot[g].Categories.Append("?"))
                {
                    var texts = OneHot.Select(h => h.Categories[0]).ToArray();
                    texts[g] = category;
                    records.Add((n, texts));
                }
            }
        }

        using var rows = view.RentRows(records.Count);
        var expected = new float[records.Count * 58];
        for (var row = 0; row < records.Count; row++)
        {
            var (n, texts) = records[row];
            for (var i = 0; i < Numeric.Length; i++)
            {
                Assert.True(view.TryGetField(Numeric[i].Field, out var field));
                rows.SetNumber(row, field, n[i]);
                // The training encoder: log(1 + x) for x a whole number (so 1 + x is exact), then (x - mean) / std
                // in double, rounded to float32 once.
                var x = Numeric[i].Log1p ? Math.Log(1 + n[i]) : n[i];
                expected[row * 58 + i] = (float)((x - Numeric[i].Mean) / Numeric[i].Std);
            }
            var column = Numeric.Length;
            for (var g = 0; g < OneHot.Length; g++)
            {
                Assert.True(view.TryGetField(OneHot[g].Field, out var field));
                rows.SetText(row, field, texts[g]);
                var index = Array.IndexOf(OneHot[g].Categories, texts[g]);
                if (index >= 0)
                {
                    expected[row * 58 + column + index] = 1;
                }
                column += OneHot[g].Categories.Length;
            }
            Assert.Equal(58, column);
        }
        Assert.Equal(Bits(expected), Bits(Transform(view, rows)));
    }

    [Fact]
    public void A_record_without_a_category_field_leaves_its_group_at_zero_and_without_a_number_is_refused()
    {
        var view = Income();
        var record = ExampleRecords()[0];
        using var rows = view.RentRows(1);
        foreach (var (name, value) in record)
        {
            view.TryGetField(name, out var field);
            if (name == "occupation")
            {
                continue;
            }
            if (value.ValueKind == JsonValueKind.Number)
            {
                rows.SetNumber(0, field, value.GetDouble());
            }
            else
            {
                rows.SetText(0, field, value.GetString()!);
            }
        }
        var encoded = Transform(view, rows);
        // occupation's 14 columns follow 5 numbers, 8 workclass, 16 education and 7 marital_status columns.
        Assert.All(encoded.AsSpan(36, 14).ToArray(), value => Assert.Equal(0f, value));
        // One 1 in each of the other five groups.
        Assert.Equal(5f, encoded.AsSpan(5).ToArray().Sum());

        view.TryGetField("age", out var age);
        rows.SetMissing(0, age);
        var e = Assert.Throws<FeatureException>(() => Transform(view, rows));
        Assert.Equal("row 0: field 'age': missing: neither in the request nor in the store, and feature 'age' has no default", e.Message);
    }

    private static float[] Transform(FeatureView view, FeatureRows rows)
    {
        var tensors = view.Transform(rows, Now);
        using var tensor = Assert.Single(tensors);
        return MemoryMarshal.Cast<byte, float>(tensor.Data).ToArray();
    }

    private static int[] Bits(float[] values) => [.. values.Select(BitConverter.SingleToInt32Bits)];
}
