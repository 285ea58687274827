using System.Globalization;
using System.Text.Json;
using InferenceServer.Core.Scoring;
using InferenceServer.FunctionalTests.Features;

namespace InferenceServer.FunctionalTests.Scoring;

/// <summary>
/// <c>inference-server score</c> end to end on real files and real ONNX Runtime: income's raw records through its feature
/// view from Parquet, CSV and JSONL into each output format, simple's tensors by column name, bad rows, and the
/// command line's usage errors.
/// </summary>
public sealed class ScoreCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("score-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Models => RepositoryPaths.Models;

    private string PathOf(string name) => Path.Combine(_folder, name);

    [Fact]
    public async Task EveryInputFormatGivesTheSamePredictionsInEveryOutputFormat()
    {
        var records = ScoringFiles.Income(3000, seed: 7);
        await ScoringFiles.WriteParquetAsync(PathOf("in.parquet"), records, rowGroupRows: 700);
        ScoringFiles.WriteCsv(PathOf("in.csv"), records);
        ScoringFiles.WriteJsonLines(PathOf("in.jsonl"), records);

        List<Dictionary<string, string?>>? reference = null;
        foreach (var input in new[] { "in.parquet", "in.csv", "in.jsonl" })
        {
            foreach (var format in new[] { "parquet", "csv", "jsonl" })
            {
                var output = PathOf($"out-{input}-{format}");
                var run = await ScoreRun.RunAsync("--model-repository", Models, "--model", "income", "--input", PathOf(input), "--output", output,
                    "--output-format", format, "--split-size", "40KB");
                Assert.True(run.ExitCode == 0, run.ToString());
                Assert.Contains("Scored 3,000 rows with income (version 1)", run.Output);
                var rows = await ScoringFiles.ReadOutputAsync(output);
                Assert.Equal(Enumerable.Range(0, 3000).Select(i => i.ToString(CultureInfo.InvariantCulture)), rows.Select(r => r["id"]));
                Assert.All(rows, r =>
                {
                    Assert.Equal("income", r["model"]);
                    Assert.Equal("1", r["model_version"]);
                    Assert.Equal(float.Parse(r["probability"]!, CultureInfo.InvariantCulture) >= 0.5 ? ">50K" : "<=50K", r["label"]);
                });
                reference ??= rows;
                // Bit-identical: every format writes the float's shortest round-trip text or the float itself.
                Assert.Equal(reference.Select(r => r["probability"]), rows.Select(r => r["probability"]));
            }
        }
    }

    [Fact]
    public async Task PredictionsAreTheModelsAnswersForTheRecords()
    {
        // The two sample records, whose probabilities were recorded when the model was generated.
        var lines = new[] { 0, 1 }.Select(i =>
        {
            var record = IncomeRecords.Record(i);
            record["id"] = i;
            return record.ToJsonString();
        });
        await File.WriteAllLinesAsync(PathOf("examples.jsonl"), lines);
        var run = await ScoreRun.RunAsync("--model-repository", Models, "--model", "income", "--input", PathOf("examples.jsonl"), "--output", PathOf("out"), "--output-format", "csv");
        Assert.True(run.ExitCode == 0, run.ToString());
        var rows = await ScoringFiles.ReadOutputAsync(PathOf("out"));
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(IncomeRecords.GeneratedProbability(i), double.Parse(rows[i]["probability"]!, CultureInfo.InvariantCulture), 4);
        }
    }

    [Theory]
    [InlineData("in.parquet")]
    [InlineData("in.csv")]
    [InlineData("in.jsonl")]
    public async Task AKeyColumnMayAlsoBeAFeature(string input)
    {
        var records = ScoringFiles.Income(50, seed: 2);
        await ScoringFiles.WriteParquetAsync(PathOf("in.parquet"), records, rowGroupRows: 20);
        ScoringFiles.WriteCsv(PathOf("in.csv"), records);
        ScoringFiles.WriteJsonLines(PathOf("in.jsonl"), records);
        var run = await ScoreRun.RunAsync("--model-repository", Models, "--model", "income", "--input", PathOf(input), "--output", PathOf("out"),
            "--key-columns", "id,age,sex", "--output-format", "csv");
        Assert.True(run.ExitCode == 0, run.ToString());
        var rows = await ScoringFiles.ReadOutputAsync(PathOf("out"));
        Assert.Equal(records.Select(r => (r.Id.ToString(CultureInfo.InvariantCulture), r.Age, r.Sex)), rows.Select(r => (r["id"]!, r["age"]!, r["sex"]!)));
    }

    [Fact]
    public async Task AParquetOutputsRowGroupsFollowTheMemoryLimit()
    {
        // The part writer's share of --memory-limit sizes its row groups: at 1MB the smallest, at 2GB the largest, and
        // the same rows either way.
        const int Rows = 5000;
        var records = ScoringFiles.Income(Rows, seed: 5);
        await ScoringFiles.WriteParquetAsync(PathOf("in.parquet"), records, rowGroupRows: Rows);
        var groups = new List<long[]>();
        foreach (var limit in new[] { "1MB", "2GB" })
        {
            var output = PathOf($"out-{limit}");
            var run = await ScoreRun.RunAsync("--model-repository", Models, "--model", "income", "--input", PathOf("in.parquet"), "--output", output,
                "--output-format", "parquet", "--memory-limit", limit);
            Assert.True(run.ExitCode == 0, run.ToString());
            var part = Assert.Single(Directory.GetFiles(output, "part-*.parquet"));
            await using var file = File.OpenRead(part);
            await using var reader = await Parquet.ParquetReader.CreateAsync(file);
            var sizes = new long[reader.RowGroupCount];
            for (var g = 0; g < sizes.Length; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                sizes[g] = group.RowCount;
            }
            groups.Add(sizes);
            var rows = await ScoringFiles.ReadOutputAsync(output);
            Assert.Equal(records.Select(r => r.Id.ToString(CultureInfo.InvariantCulture)), rows.Select(r => r["id"]!));
        }
        Assert.Equal([1024, 1024, 1024, 1024, 904], groups[0]);
        Assert.Equal([Rows], groups[1]);
    }

    [Fact]
    public async Task TheRunsOwnInstancesAndThreadsChangeNoAnswer()
    {
        // The default run reloads income as one single-threaded instance per core (a load override); the model's own
        // config (one instance, the server's threads) must give the same bits.
        var records = ScoringFiles.Income(2000, seed: 4);
        await ScoringFiles.WriteParquetAsync(PathOf("in.parquet"), records, rowGroupRows: 700);
        var tuned = await ScoreRun.RunAsync("--model-repository", Models, "--model", "income", "--input", PathOf("in.parquet"), "--output", PathOf("tuned"),
            "--output-format", "csv", "--instances", "2");
        Assert.True(tuned.ExitCode == 0, tuned.ToString());
        var asConfigured = await ScoreRun.RunAsync("--model-repository", Models, "--model", "income", "--input", PathOf("in.parquet"), "--output", PathOf("config"),
            "--output-format", "csv", "--instances", "config", "--intra-op-threads", "config");
        Assert.True(asConfigured.ExitCode == 0, asConfigured.ToString());
        var expected = await ScoringFiles.ReadOutputAsync(PathOf("config"));
        var actual = await ScoringFiles.ReadOutputAsync(PathOf("tuned"));
        Assert.Equal(2000, actual.Count);
        Assert.Equal(expected.Select(r => (r["id"], r["probability"])), actual.Select(r => (r["id"], r["probability"])));
        Assert.Equal(records.Select(r => r.Id.ToString(CultureInfo.InvariantCulture)), actual.Select(r => r["id"]!));
        Assert.DoesNotContain("warn", tuned.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AModelWithoutAViewTakesItsInputsByColumnName()
    {
        var lines = new List<string> { "key,INPUT0,INPUT1" };
        for (var i = 0; i < 20; i++)
        {
            lines.Add($"k{i},{string.Join(' ', Enumerable.Range(i, 16))},\"[{string.Join(',', Enumerable.Repeat(1, 16))}]\"");
        }
        await File.WriteAllLinesAsync(PathOf("simple.csv"), lines);
        var run = await ScoreRun.RunAsync("--model-repository", Models, "--model", "simple", "--input", PathOf("simple.csv"), "--output", PathOf("out"),
            "--key-columns", "key", "--output-format", "jsonl");
        Assert.True(run.ExitCode == 0, run.ToString());
        var rows = await ScoringFiles.ReadOutputAsync(PathOf("out"));
        Assert.Equal(20, rows.Count);
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal($"k{i}", rows[i]["key"]);
            for (var e = 0; e < 16; e++)
            {
                Assert.Equal((i + e + 1).ToString(CultureInfo.InvariantCulture), rows[i][$"OUTPUT0_{e}"]);
                Assert.Equal((i + e - 1).ToString(CultureInfo.InvariantCulture), rows[i][$"OUTPUT1_{e}"]);
            }
        }
    }

    [Fact]
    public async Task BadRowsAreQuarantinedAndTheRunGoesOn()
    {
        var bad = new HashSet<long> { 3, 1500, 2999 };
        ScoringFiles.WriteCsv(PathOf("in.csv"), ScoringFiles.Income(3000, seed: 3, bad));
        // A short row too: the reader refuses it.
        await File.AppendAllTextAsync(PathOf("in.csv"), "3000,41\n");
        var run = await ScoreRun.RunAsync("--model-repository", Models, "--model", "income", "--input", PathOf("in.csv"), "--output", PathOf("out"),
            "--split-size", "30KB", "--json");
        Assert.True(run.ExitCode == 0, run.ToString());
        using var summary = JsonDocument.Parse(run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);
        Assert.Equal("summary", summary.RootElement.GetProperty("event").GetString());
        Assert.Equal(2997, summary.RootElement.GetProperty("rows").GetInt64());
        Assert.Equal(4, summary.RootElement.GetProperty("bad_rows").GetInt64());

        var quarantined = File.ReadAllLines(PathOf("out/_quarantine.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal([4L, 1501, 3000, 3001], quarantined.Select(q => q.GetProperty("row").GetInt64()));
        Assert.Equal(["3", "1500", "2999", "3000"], quarantined.Select(q => q.GetProperty("raw").GetProperty("id").GetString()));
        Assert.All(quarantined.Take(3), q => Assert.Equal("field 'age': 'abc' is not a number", q.GetProperty("reason").GetString()));
        Assert.Contains("the row has 2 cells; the header has 12", quarantined[3].GetProperty("reason").GetString());
        Assert.All(quarantined, q => Assert.Equal(PathOf("in.csv"), q.GetProperty("file").GetString()));
        var ids = (await ScoringFiles.ReadOutputAsync(PathOf("out"))).Select(r => long.Parse(r["id"]!, CultureInfo.InvariantCulture));
        Assert.Equal(Enumerable.Range(0, 3000).Select(i => (long)i).Where(i => !bad.Contains(i)), ids);
    }

    [Theory]
    [InlineData("2")]
    [InlineData("0.05%")]
    public async Task TooManyBadRowsStopTheRunWithExitCode3(string limit)
    {
        ScoringFiles.WriteCsv(PathOf("in.csv"), ScoringFiles.Income(3000, seed: 3, new HashSet<long> { 10, 20, 30, 2500 }));
        var run = await ScoreRun.RunAsync("--model-repository", Models, "--model", "income", "--input", PathOf("in.csv"), "--output", PathOf("out"),
            "--max-bad-rows", limit);
        Assert.True(run.ExitCode == 3, run.ToString());
        Assert.Contains($"exceed --max-bad-rows {limit}", run.Error);
        Assert.NotEmpty(File.ReadAllLines(PathOf("out/_quarantine.jsonl")));
    }

    [Theory]
    [InlineData("flag '--model' is required (see inference-server score --help)", "--model-repository", "m", "--input", "x.csv", "--output", "o")]
    [InlineData("--shard: '4/4' is not valid; expected I/N with 0 <= I < N, such as 0/4", "--shard", "4/4")]
    [InlineData("--max-bad-rows: 'many' is not valid; expected a count (100) or a percentage (0.5%)", "--max-bad-rows", "many")]
    [InlineData("--output-format: 'xml' is not valid; expected parquet, csv or jsonl", "--output-format", "xml")]
    [InlineData("--memory-limit: '12 apples' is not valid; expected a size of at least 1MB, such as 256MB or 2GB", "--memory-limit", "12 apples")]
    [InlineData("--batch-size: '0' is not valid; expected a whole number of at least 1", "--batch-size", "0")]
    [InlineData("--instances: '0' is not valid; expected a whole number of at least 1, or config", "--instances", "0")]
    [InlineData("--intra-op-threads: 'all' is not valid; expected a whole number of at least 1, or config", "--intra-op-threads", "all")]
    [InlineData("unknown flag '--http-port' (see inference-server score --help)", "--http-port", "8000")]
    [InlineData("flag '--model-version' needs a value", "--model-version")]
    public async Task UsageErrorsAreOneLineAndExitCode2(string message, params string[] args)
    {
        string[] required = ["--model-repository", "m", "--model", "x", "--input", "x.csv", "--output", "o"];
        var run = await ScoreRun.RunAsync(args.Contains("--model-repository") ? args : [.. required, .. args]);
        Assert.Equal(2, run.ExitCode);
        Assert.Equal($"inference-server: {message}", run.Error.Trim());
    }

    [Fact]
    public async Task RunErrorsNameWhatIsWrongAndExitCode1()
    {
        ScoringFiles.WriteCsv(PathOf("in.csv"), ScoringFiles.Income(10));
        var unknown = await ScoreRun.RunAsync("--model-repository", Models, "--model", "nope", "--input", PathOf("in.csv"), "--output", PathOf("o1"));
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("model 'nope' did not load", unknown.Error);

        var missing = await ScoreRun.RunAsync("--model-repository", Models, "--model", "income", "--input", PathOf("none.csv"), "--output", PathOf("o2"));
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("is no file, folder or glob", missing.Error);

        Assert.Equal(0, (await ScoreRun.RunAsync("--model-repository", Models, "--model", "income", "--input", PathOf("in.csv"), "--output", PathOf("o3"))).ExitCode);
        var again = await ScoreRun.RunAsync("--model-repository", Models, "--model", "income", "--input", PathOf("in.csv"), "--output", PathOf("o3"));
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("add --resume to continue it, or give another --output", again.Error);

        var other = await ScoreRun.RunAsync("--model-repository", Models, "--model", "income", "--input", PathOf("in.csv"), "--output", PathOf("o3"), "--resume",
            "--output-format", "csv");
        Assert.Equal(1, other.ExitCode);
        Assert.Contains("has output format 'parquet'; this command gives 'csv'", other.Error);

        var keys = await ScoreRun.RunAsync("--model-repository", Models, "--model", "income", "--input", PathOf("in.csv"), "--output", PathOf("o4"), "--key-columns", "id,zip");
        Assert.Equal(1, keys.ExitCode);
        Assert.Contains("--key-columns: the input has no column 'zip'", keys.Error);
    }

    [Fact]
    public async Task ShardsWriteDisjointPartsThatTogetherAreTheInput()
    {
        ScoringFiles.WriteCsv(PathOf("in.csv"), ScoringFiles.Income(2000, seed: 5));
        var all = new List<string?>();
        var parts = new HashSet<string>();
        for (var shard = 0; shard < 3; shard++)
        {
            var output = PathOf($"shard-{shard}");
            var run = await ScoreRun.RunAsync("--model-repository", Models, "--model", "income", "--input", PathOf("in.csv"), "--output", output,
                "--shard", $"{shard}/3", "--split-size", "20KB", "--output-format", "csv");
            Assert.True(run.ExitCode == 0, run.ToString());
            foreach (var part in Directory.GetFiles(output, "part-*"))
            {
                Assert.True(parts.Add(Path.GetFileName(part)), $"{Path.GetFileName(part)} is written by two shards");
            }
            all.AddRange((await ScoringFiles.ReadOutputAsync(output)).Select(r => r["id"]));
            Assert.True(ScoreManifest.Load(output)!.Complete);
        }
        Assert.Equal(Enumerable.Range(0, 2000).Select(i => i.ToString(CultureInfo.InvariantCulture)), all);
    }
}
