using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using InferenceServer.Cli;
using InferenceServer.Core.Drift;
using InferenceServer.FunctionalTests.Http;
using InferenceServer.Tests.Common.IncomeData;

namespace InferenceServer.FunctionalTests.Drift;

/// <summary>
/// Drift monitoring end to end on the income sample: <c>inference-server profile</c> writes the profile from a training
/// CSV, a real server (Kestrel on loopback, ONNX Runtime) takes predict traffic whose age is shifted and nothing else,
/// and both <c>/v2/models/income/drift</c> and <c>/metrics</c> report significant drift on age and none on the other
/// features. A model without a profile, and a server with monitoring off, answer the report with a clear 404.
/// </summary>
public sealed partial class DriftMonitoringTests : IDisposable
{
    private readonly TestRepository _repository = new TestRepository().AddSample("income").AddSample("simple");

    // Traffic whose age alone is 30 years older than training's: the generator moves that column and no other.
    private static readonly IncomeShift AgeShifted = new() { AgeYears = 30 };

    public void Dispose() => _repository.Dispose();

    private async Task<(int Code, string Output, string Error)> ProfileAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CommandLine.RunAsync(["profile", .. args], (_, _) => Task.FromResult(0), output, error);
        return (code, output.ToString(), error.ToString());
    }

    private async Task<string> TrainAsync()
    {
        var csv = Path.Combine(_repository.Path, "train.csv");
        IncomeFiles.WriteCsv(csv, 5_000, seed: 1);
        var (code, output, error) = await ProfileAsync("--model-repository", _repository.Path, "--view", "income", "--from", csv);
        Assert.True(code == 0, error);
        Assert.Contains("profiled 5000 rows of model 'income' version 1: 11 features, 1 prediction outputs", output);
        return Path.Combine(_repository.Path, "income", TrainingProfile.FileName);
    }

    [Fact]
    public async Task The_profile_command_writes_a_profile_of_the_raw_fields_and_the_prediction_that_reads_back()
    {
        var path = await TrainAsync();

        var profile = TrainingProfile.Read(path);

        Assert.Equal("income", profile.Model);
        Assert.Equal(TrainingProfile.ViewLevel, profile.Level);
        Assert.Equal(5_000, profile.Rows);
        Assert.Equal(["age", "education_num", "hours_per_week", "capital_gain", "capital_loss", "workclass", "education", "marital_status", "occupation", "relationship", "sex"],
            profile.Features.Select(f => f.Name));
        var age = profile.Features[0];
        Assert.Equal(ProfiledFeature.NumericKind, age.Kind);
        Assert.Equal(10, age.Proportions.Length);
        // The extreme quantiles are the training CSV's own youngest and oldest ages.
        var ages = File.ReadLines(Path.Combine(_repository.Path, "train.csv")).Skip(1).Select(line => int.Parse(line.Split(',')[1], CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(ages.Min(), age.Quantiles![0]);
        Assert.Equal(ages.Max(), age.Quantiles[100]);
        Assert.Equal(1, age.Proportions.Sum(), 9);
        var sex = profile.Features[^1];
        Assert.Equal(ProfiledFeature.CategoricalKind, sex.Kind);
        Assert.Equal(["Female", "Male"], sex.Categories!.Order());
        Assert.Equal(0, sex.Proportions[^1]);
        var probability = Assert.Single(profile.Predictions);
        Assert.Equal("probability", probability.Name);
        Assert.InRange(probability.Quantiles![0], 0, 1);
        Assert.InRange(probability.Quantiles[100], 0, 1);
    }

    [Fact]
    public async Task A_profile_from_JSONL_is_the_profile_from_CSV_of_the_same_records()
    {
        var csvPath = await TrainAsync();
        var fromCsv = TrainingProfile.Read(csvPath);
        // The same records as JSON lines: numbers as numbers, categories as strings.
        var jsonl = Path.Combine(_repository.Path, "train.jsonl");
        var lines = File.ReadAllLines(Path.Combine(_repository.Path, "train.csv"));
        var names = lines[0].Split(',');
        File.WriteAllLines(jsonl, lines.Skip(1).Select(line =>
        {
            var cells = line.Split(',');
            var record = new JsonObject();
            for (var i = 0; i < names.Length; i++)
            {
                record[names[i]] = double.TryParse(cells[i], NumberStyles.Float, CultureInfo.InvariantCulture, out var number) ? JsonValue.Create(number) : JsonValue.Create(cells[i]);
            }
            return record.ToJsonString();
        }));
        var output = Path.Combine(_repository.Path, "from-jsonl.json");

        var (code, _, error) = await ProfileAsync("--model-repository", _repository.Path, "--model", "income", "--from", jsonl, "--output", output);
        var fromJsonl = TrainingProfile.Read(output);

        Assert.True(code == 0, error);
        Assert.Equal(fromCsv.Rows, fromJsonl.Rows);
        Assert.Equal(fromCsv.Features.Count, fromJsonl.Features.Count);
        for (var i = 0; i < fromCsv.Features.Count; i++)
        {
            Assert.Equal(fromCsv.Features[i].Name, fromJsonl.Features[i].Name);
            Assert.Equal(fromCsv.Features[i].Proportions, fromJsonl.Features[i].Proportions);
            Assert.Equal(fromCsv.Features[i].Edges, fromJsonl.Features[i].Edges);
            Assert.Equal(fromCsv.Features[i].Quantiles, fromJsonl.Features[i].Quantiles);
            Assert.Equal(fromCsv.Features[i].Categories, fromJsonl.Features[i].Categories);
        }
        Assert.Equal(fromCsv.Predictions[0].Quantiles, fromJsonl.Predictions[0].Quantiles);
        Assert.Equal(fromCsv.Predictions[0].Proportions, fromJsonl.Predictions[0].Proportions);
    }

    [Fact]
    public async Task A_scored_file_is_compared_with_the_profile_as_score_reads_it()
    {
        var profilePath = await TrainAsync();
        // A file of 2,000 records whose age is shifted by 30 years, read with score's reader in batches of 256.
        var csv = Path.Combine(_repository.Path, "shifted.csv");
        IncomeFiles.WriteCsv(csv, 2000, seed: 12, AgeShifted);
        var view = Core.Features.FeatureViewReader.Parse(File.ReadAllText(Path.Combine(_repository.Path, "income", Core.Features.FeatureView.FileName)), "income");
        var drift = DriftBatch.ForModel(Path.Combine(_repository.Path, "income"), Path.Combine(_repository.Path, "income", "1"), view)!;
        var columns = view.Fields.Select(f => f.Name).ToArray();
        var splits = await Core.Scoring.InputSplits.PlanAsync([csv], Core.Scoring.InputSplits.DefaultSplitBytes, default);
        using var batch = new Core.Scoring.RecordBatch(columns);
        foreach (var split in splits)
        {
            await using var reader = await Core.Scoring.RecordReader.OpenAsync(split, columns, default);
            while (await reader.ReadAsync(batch, 256, default))
            {
                drift.Record(batch, Enumerable.Range(0, batch.Count).ToList(), [], [], batched: true);
            }
        }

        var report = drift.Report("income", "1", "shifted.csv", 1);
        var text = report.ToText();

        Assert.Equal("income/profile.json", report.Profile);
        Assert.Equal(2000, report.RowsSampled);
        Assert.Equal("significant", report.Features.Single(f => f.Name == "age").Drift);
        Assert.All(report.Features.Where(f => f.Name != "age"), f => Assert.True(f.Drift == "none", $"{f.Name}: PSI {f.Psi}"));
        Assert.Contains("drift of model 'income' version 1 (shifted.csv) against income/profile.json: significant (2000 rows", text);
        Assert.Contains("feature age", text);
        Assert.True(File.Exists(profilePath));
    }

    [Fact]
    public async Task The_profile_command_names_what_is_wrong_with_its_input()
    {
        var missing = await ProfileAsync("--model-repository", _repository.Path, "--model", "income", "--from", Path.Combine(_repository.Path, "none.csv"));
        Assert.Equal(1, missing.Code);
        Assert.Contains("--from '", missing.Error);
        Assert.Contains("none.csv' is no file, folder or glob that matches anything", missing.Error);

        var csv = Path.Combine(_repository.Path, "other.csv");
        File.WriteAllText(csv, "a,b\n1,2\n");
        var unrelated = await ProfileAsync("--model-repository", _repository.Path, "--model", "income", "--from", csv);
        Assert.Equal(1, unrelated.Code);
        Assert.Contains("no column is a field of feature view 'income'", unrelated.Error);

        var unknown = await ProfileAsync("--model-repository", _repository.Path, "--model", "nosuch", "--from", csv);
        Assert.Equal(1, unknown.Code);
        Assert.Contains("no model 'nosuch'", unknown.Error);
    }

    [Fact]
    public async Task Shifted_age_is_significant_drift_on_age_alone_over_REST_and_in_the_metrics()
    {
        await TrainAsync();
        await using var server = await RunningServer.StartAsync(_repository.Path, ("Drift:SampleRate", "1"), ("Drift:WindowSize", "4096"));
        var traffic = new IncomeRecordGenerator(7, AgeShifted);
        for (var i = 0; i < 60; i++)
        {
            var (response, body) = await server.Client.PostJsonAsync("/v2/models/income/predict", IncomeTraffic.PredictBody(traffic, 50));
            Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        }

        foreach (var path in new[] { "/v2/models/income/drift", "/v2/models/income/versions/1/drift" })
        {
            var (response, report) = await server.Client.GetJsonAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.OK, report?.ToJsonString());
            Assert.Equal("income", report!["model"]!.GetValue<string>());
            Assert.Equal("1", report["version"]!.GetValue<string>());
            Assert.Equal("significant", report["drift"]!.GetValue<string>());
            Assert.Equal(3000, report["rows_sampled"]!.GetValue<long>());
            Assert.Equal(0.1, report["thresholds"]!["moderate"]!.GetValue<double>());
            Assert.Equal(0.2, report["thresholds"]!["significant"]!.GetValue<double>());
            foreach (var feature in report["features"]!.AsArray())
            {
                var name = feature!["name"]!.GetValue<string>();
                Assert.Equal(3000, feature["samples"]!.GetValue<long>());
                var psi = feature["psi"]!.GetValue<double>();
                if (name == "age")
                {
                    Assert.Equal("significant", feature["drift"]!.GetValue<string>());
                    Assert.True(psi > 1, $"age: PSI {psi}");
                    // Every shifted age (47 to 90) is above the training median: the CDFs differ by well over half.
                    Assert.True(feature["ks"]!.GetValue<double>() > 0.6, $"age: KS {feature["ks"]}");
                }
                else
                {
                    Assert.True(feature["drift"]!.GetValue<string>() == "none", $"{name}: PSI {psi}");
                }
            }
            var prediction = Assert.Single(report["predictions"]!.AsArray())!;
            Assert.Equal("probability", prediction["name"]!.GetValue<string>());
            Assert.Equal(3000, prediction["samples"]!.GetValue<long>());
        }

        var metrics = await server.MetricsClient.GetStringAsync("/metrics");
        var psiByFeature = Series(metrics, "feature_drift_psi");
        Assert.Equal(11, psiByFeature.Count);
        Assert.True(psiByFeature["age"] > 0.2, $"age: {psiByFeature["age"]}");
        Assert.All(psiByFeature.Where(p => p.Key != "age"), p => Assert.True(p.Value < 0.1, $"{p.Key}: {p.Value}"));
        Assert.Equal(5, Series(metrics, "feature_drift_ks").Count);
        Assert.Contains("prediction_drift_psi{model=\"income\",version=\"1\",output=\"probability\"}", metrics);
        Assert.Contains("drift_window_rows{model=\"income\",version=\"1\"} 3000", metrics);
    }

    [Fact]
    public async Task Traffic_like_the_training_data_shows_no_drift()
    {
        await TrainAsync();
        await using var server = await RunningServer.StartAsync(_repository.Path, ("Drift:SampleRate", "1"));
        var traffic = new IncomeRecordGenerator(8);
        for (var i = 0; i < 40; i++)
        {
            var (response, _) = await server.Client.PostJsonAsync("/v2/models/income/predict", IncomeTraffic.PredictBody(traffic, 50));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var (_, report) = await server.Client.GetJsonAsync("/v2/models/income/drift");

        Assert.Equal("none", report!["drift"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_model_without_a_profile_answers_its_drift_report_with_404_saying_how_to_make_one()
    {
        await using var server = await RunningServer.StartAsync(_repository.Path);

        var (response, body) = await server.Client.GetJsonAsync("/v2/models/simple/drift");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var error = body!["error"]!.GetValue<string>();
        Assert.Contains("model 'simple' version 1 has no training profile", error);
        Assert.Contains("inference-server profile --model-repository REPO --model simple --from FILE", error);
        var (unknown, unknownBody) = await server.Client.GetJsonAsync("/v2/models/nosuch/drift");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("nosuch", unknownBody!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_profile_that_does_not_fit_the_view_is_reported_as_such_and_the_model_still_serves()
    {
        var builder = new ProfileBuilder("income", "1", TrainingProfile.ViewLevel);
        builder.Feature("height", numeric: true).Add(1.8);
        builder.Build("elsewhere").Write(Path.Combine(_repository.Path, "income", TrainingProfile.FileName));
        await using var server = await RunningServer.StartAsync(_repository.Path);

        var (predict, _) = await server.Client.PostJsonAsync("/v2/models/income/predict", IncomeTraffic.PredictBody(new IncomeRecordGenerator(10), 1));
        var (response, body) = await server.Client.GetJsonAsync("/v2/models/income/drift");

        Assert.Equal(HttpStatusCode.OK, predict.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("the training profile of model 'income' version 1 cannot be used: training profile 'income/profile.json' has feature 'height', which feature view 'income' does not declare",
            body!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task With_monitoring_off_the_report_says_so_and_no_drift_series_appear()
    {
        await TrainAsync();
        await using var server = await RunningServer.StartAsync(_repository.Path, ("Drift:Enabled", "false"));
        var (predict, _) = await server.Client.PostJsonAsync("/v2/models/income/predict", IncomeTraffic.PredictBody(new IncomeRecordGenerator(9, AgeShifted), 5));
        Assert.Equal(HttpStatusCode.OK, predict.StatusCode);

        var (response, body) = await server.Client.GetJsonAsync("/v2/models/income/drift");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("drift monitoring is off on this server (--drift-monitoring false)", body!["error"]!.GetValue<string>());
        Assert.DoesNotContain("feature_drift_psi{", await server.MetricsClient.GetStringAsync("/metrics"));
    }

    [Fact]
    public async Task Without_a_view_the_input_tensor_columns_are_monitored_on_the_infer_path()
    {
        // simple adds and subtracts two INT32[16] inputs; its training file (JSONL) holds each input as a list, every
        // value uniform on 0..99. Profiled by the command, through score's tensor encoder.
        var random = new Random(11);
        var jsonl = Path.Combine(_repository.Path, "simple-train.jsonl");
        using (var writer = File.CreateText(jsonl))
        {
            for (var row = 0; row < 4000; row++)
            {
                writer.WriteLine(new JsonObject { ["INPUT0"] = Input("INPUT0", random, 0)["data"]!.DeepClone(), ["INPUT1"] = Input("INPUT1", random, 0)["data"]!.DeepClone() }.ToJsonString());
            }
        }
        var (code, output, error) = await ProfileAsync("--model-repository", _repository.Path, "--model", "simple", "--from", jsonl);
        Assert.True(code == 0, error);
        Assert.Contains("profiled 4000 rows of model 'simple' version 1: 32 features, 32 prediction outputs", output);
        await using var server = await RunningServer.StartAsync(_repository.Path, ("Drift:SampleRate", "1"));

        for (var i = 0; i < 300; i++)
        {
            var body = new JsonObject
            {
                ["inputs"] = new JsonArray(Input("INPUT0", random, 0), Input("INPUT1", random, 50)),
            };
            var (response, answer) = await server.Client.PostJsonAsync("/v2/models/simple/infer", body.ToJsonString());
            Assert.True(response.StatusCode == HttpStatusCode.OK, answer?.ToJsonString());
        }

        var (_, report) = await server.Client.GetJsonAsync("/v2/models/simple/drift");
        Assert.Equal(TrainingProfile.TensorLevel, report!["level"]!.GetValue<string>());
        var features = report["features"]!.AsArray();
        Assert.Equal(32, features.Count);
        foreach (var feature in features)
        {
            var name = feature!["name"]!.GetValue<string>();
            Assert.Equal(300, feature["samples"]!.GetValue<long>());
            Assert.Equal(name.StartsWith("INPUT1[", StringComparison.Ordinal) ? "significant" : "none", feature["drift"]!.GetValue<string>());
        }
    }

    private static JsonObject Input(string name, Random random, int shift)
    {
        var data = new JsonArray();
        for (var i = 0; i < 16; i++)
        {
            data.Add(random.Next(100) + shift);
        }
        return new JsonObject { ["name"] = name, ["datatype"] = "INT32", ["shape"] = new JsonArray(1, 16), ["data"] = data };
    }

    private static Dictionary<string, double> Series(string metrics, string name)
    {
        var series = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (Match match in SeriesLine().Matches(metrics))
        {
            if (match.Groups["name"].Value == name && match.Groups["model"].Value == "income")
            {
                series[match.Groups["feature"].Value] = double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }
        return series;
    }

    [GeneratedRegex("""^(?<name>\w+)\{model="(?<model>[^"]*)",version="1",feature="(?<feature>[^"]*)"\} (?<value>\S+)$""", RegexOptions.Multiline)]
    private static partial Regex SeriesLine();
}
