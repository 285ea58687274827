using System.Text.Json;
using InferenceServer.Cli;
using InferenceServer.Core.Drift;
using InferenceServer.Tests.Common.IncomeData;

namespace InferenceServer.FunctionalTests.Scoring;

/// <summary>
/// <c>inference-server score</c>'s drift report: <c>inference-server profile</c> writes income's training profile from a
/// generated CSV, then score runs (real files, real ONNX Runtime) on a generated file whose age alone is shifted by 30
/// years, and on one drawn like the training data. The summary, as text and as <c>--json</c>, names significant drift on
/// age and on no other feature for the first, and no drift for the second; <c>--no-drift</c> leaves the report out.
/// </summary>
public sealed class ScoreDriftTests : IDisposable
{
    private readonly TestRepository _repository = new TestRepository().AddSample("income");
    private readonly string _folder = Directory.CreateTempSubdirectory("score-drift-").FullName;

    public void Dispose()
    {
        _repository.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private string PathOf(string name) => Path.Combine(_folder, name);

    private static readonly string[] OtherFeatures =
        ["education_num", "hours_per_week", "capital_gain", "capital_loss", "workclass", "education", "marital_status", "occupation", "relationship", "sex"];

    // income's profile from 5,000 generated records: what it was "trained" on.
    private async Task ProfileAsync()
    {
        var train = PathOf("train.csv");
        ScoringFiles.WriteCsv(train, ScoringFiles.Income(5000, seed: 1));
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CommandLine.RunAsync(["profile", "--model-repository", _repository.Path, "--view", "income", "--from", train], (_, _) => Task.FromResult(0), output, error);
        Assert.True(code == 0, error.ToString());
        Assert.True(File.Exists(Path.Combine(_repository.Path, "income", TrainingProfile.FileName)));
    }

    // Records drawn as the training ones were (another seed), their age alone shifted by ageShift years: the generator's
    // shift of age leaves every other column as the seed drew it.
    private static ScoringFiles.IncomeRecord[] Records(int count, int seed, int ageShift) =>
        ScoringFiles.Income(count, seed, shift: new IncomeShift { AgeYears = ageShift });

    [Fact]
    public async Task A_file_whose_age_is_shifted_reports_significant_drift_on_age_alone()
    {
        await ProfileAsync();
        await ScoringFiles.WriteParquetAsync(PathOf("shifted.parquet"), Records(3000, seed: 2, ageShift: 30), rowGroupRows: 1000);

        var run = await ScoreRun.RunAsync("--model-repository", _repository.Path, "--model", "income", "--input", PathOf("shifted.parquet"), "--output", PathOf("out"));

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains($"drift of model 'income' version 1 ({PathOf("shifted.parquet")}) against income/profile.json: significant (3000 rows", run.Output);
        var lines = run.Output.Split('\n');
        Assert.Matches(@"feature age +samples +3000 +PSI +\d+\.\d{4} +KS +\d\.\d{4} +significant$", Assert.Single(lines, l => l.Contains("feature age ", StringComparison.Ordinal)));
        foreach (var feature in OtherFeatures)
        {
            var line = Assert.Single(lines, l => l.Contains($"feature {feature} ", StringComparison.Ordinal));
            Assert.True(line.EndsWith(" none", StringComparison.Ordinal), line);
        }
        Assert.Contains("prediction probability", run.Output);
    }

    [Fact]
    public async Task The_json_summary_carries_the_report_as_an_object()
    {
        await ProfileAsync();
        ScoringFiles.WriteCsv(PathOf("shifted.csv"), Records(3000, seed: 3, ageShift: 30));

        var run = await ScoreRun.RunAsync("--model-repository", _repository.Path, "--model", "income", "--input", PathOf("shifted.csv"), "--output", PathOf("out"), "--json");

        Assert.True(run.ExitCode == 0, run.ToString());
        using var summary = JsonDocument.Parse(run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);
        Assert.Equal("summary", summary.RootElement.GetProperty("event").GetString());
        var drift = summary.RootElement.GetProperty("drift");
        Assert.Equal("income", drift.GetProperty("model").GetString());
        Assert.Equal("1", drift.GetProperty("version").GetString());
        Assert.Equal("feature_view", drift.GetProperty("level").GetString());
        Assert.Equal(3000, drift.GetProperty("rows_sampled").GetInt64());
        Assert.Equal("significant", drift.GetProperty("drift").GetString());
        var features = drift.GetProperty("features").EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!, f => f.GetProperty("drift").GetString());
        Assert.Equal(["age"], features.Where(f => f.Value == "significant").Select(f => f.Key));
        Assert.All(OtherFeatures, f => Assert.True(features[f] == "none", $"{f}: {features[f]}"));
        Assert.Equal(3000, drift.GetProperty("predictions")[0].GetProperty("samples").GetInt32());
    }

    [Fact]
    public async Task A_file_drawn_like_the_training_data_reports_no_drift()
    {
        await ProfileAsync();
        ScoringFiles.WriteCsv(PathOf("same.csv"), Records(3000, seed: 4, ageShift: 0));

        var run = await ScoreRun.RunAsync("--model-repository", _repository.Path, "--model", "income", "--input", PathOf("same.csv"), "--output", PathOf("out"), "--json");

        Assert.True(run.ExitCode == 0, run.ToString());
        using var summary = JsonDocument.Parse(run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);
        var drift = summary.RootElement.GetProperty("drift");
        Assert.Equal("none", drift.GetProperty("drift").GetString());
        Assert.All(drift.GetProperty("features").EnumerateArray().Concat(drift.GetProperty("predictions").EnumerateArray()),
            f => Assert.True(f.GetProperty("drift").GetString() == "none", f.ToString()));
        Assert.Equal(11, drift.GetProperty("features").GetArrayLength());
    }

    [Fact]
    public async Task A_model_without_a_view_is_compared_by_its_input_tensors_columns()
    {
        var repository = new TestRepository().AddSample("simple");
        try
        {
            // INPUT0 is shifted by 40 in the scored file; INPUT1 is the same ones as in training.
            await File.WriteAllLinesAsync(PathOf("train.csv"), SimpleRows(shift: 0));
            await File.WriteAllLinesAsync(PathOf("scored.csv"), SimpleRows(shift: 40));
            using var output = new StringWriter();
            using var error = new StringWriter();
            var profiled = await CommandLine.RunAsync(["profile", "--model-repository", repository.Path, "--model", "simple", "--from", PathOf("train.csv")], (_, _) => Task.FromResult(0), output, error);
            Assert.True(profiled == 0, error.ToString());

            var run = await ScoreRun.RunAsync("--model-repository", repository.Path, "--model", "simple", "--input", PathOf("scored.csv"), "--output", PathOf("out"),
                "--key-columns", "key", "--json");

            Assert.True(run.ExitCode == 0, run.ToString());
            using var summary = JsonDocument.Parse(run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);
            var drift = summary.RootElement.GetProperty("drift");
            Assert.Equal("input_tensor", drift.GetProperty("level").GetString());
            var features = drift.GetProperty("features").EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!, f => f.GetProperty("drift").GetString());
            Assert.Equal(32, features.Count);
            Assert.All(Enumerable.Range(0, 16), i => Assert.Equal("significant", features[$"INPUT0[{i}]"]));
            Assert.All(Enumerable.Range(0, 16), i => Assert.Equal("none", features[$"INPUT1[{i}]"]));
            Assert.All(drift.GetProperty("features").EnumerateArray(), f => Assert.Equal(400, f.GetProperty("samples").GetInt32()));
        }
        finally
        {
            repository.Dispose();
        }
    }

    // simple's two inputs of 16 values per row, by column name: INPUT0 counts up from the row (mod 50) plus shift; INPUT1 is ones and twos.
    private static IEnumerable<string> SimpleRows(int shift) =>
        new[] { "key,INPUT0,INPUT1" }.Concat(Enumerable.Range(0, 400).Select(i =>
            $"k{i},{string.Join(' ', Enumerable.Range(i % 50 + shift, 16))},{string.Join(' ', Enumerable.Repeat(1 + i % 2, 16))}"));

    [Fact]
    public async Task Without_a_profile_or_with_no_drift_there_is_no_report()
    {
        ScoringFiles.WriteCsv(PathOf("in.csv"), Records(500, seed: 5, ageShift: 0));

        var unprofiled = await ScoreRun.RunAsync("--model-repository", _repository.Path, "--model", "income", "--input", PathOf("in.csv"), "--output", PathOf("out1"));
        await ProfileAsync();
        var skipped = await ScoreRun.RunAsync("--model-repository", _repository.Path, "--model", "income", "--input", PathOf("in.csv"), "--output", PathOf("out2"), "--no-drift", "--json");

        Assert.True(unprofiled.ExitCode == 0, unprofiled.ToString());
        Assert.DoesNotContain("drift of model", unprofiled.Output);
        Assert.True(skipped.ExitCode == 0, skipped.ToString());
        using var summary = JsonDocument.Parse(skipped.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);
        Assert.Equal(JsonValueKind.Null, summary.RootElement.GetProperty("drift").ValueKind);
    }
}
