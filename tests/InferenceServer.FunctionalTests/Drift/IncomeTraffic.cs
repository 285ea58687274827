using System.Text.Json.Nodes;
using InferenceServer.Tests.Common.IncomeData;

namespace InferenceServer.FunctionalTests.Drift;

/// <summary>
/// Predict traffic for income: bodies of records drawn by <see cref="IncomeRecordGenerator"/>, so traffic comes from the
/// distribution the training CSV (<see cref="IncomeFiles.WriteCsv"/>) was written from, or from it shifted.
/// </summary>
internal static class IncomeTraffic
{
    /// <summary>A predict body with the generator's next <paramref name="rows"/> records: numbers as numbers, categories as strings.</summary>
    public static string PredictBody(IncomeRecordGenerator generator, int rows)
    {
        var block = new IncomeColumns(rows);
        generator.Fill(block, rows);
        var records = new JsonArray();
        for (var i = 0; i < rows; i++)
        {
            records.Add(new JsonObject
            {
                ["age"] = block.Age[i],
                ["education_num"] = block.EducationNum[i],
                ["hours_per_week"] = block.HoursPerWeek[i],
                ["capital_gain"] = block.CapitalGain[i],
                ["capital_loss"] = block.CapitalLoss[i],
                ["workclass"] = block.Workclass[i],
                ["education"] = block.Education[i],
                ["marital_status"] = block.MaritalStatus[i],
                ["occupation"] = block.Occupation[i],
                ["relationship"] = block.Relationship[i],
                ["sex"] = block.Sex[i],
            });
        }
        return new JsonObject { ["records"] = records }.ToJsonString();
    }
}
