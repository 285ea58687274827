using System.Text.Json;

namespace InferenceServer.FunctionalTests.Scoring;

/// <summary>
/// <c>score --compare-with</c> against a real server on loopback: income's raw records through predict and simple's
/// tensors through infer agree with the batch path; a server whose model differs is reported row by row (exit 1).
/// </summary>
public sealed class ScoreCompareTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("score-compare-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task TheBatchPathAndTheServerGiveTheSameAnswers()
    {
        await using var server = await RunningServer.StartAsync(RepositoryPaths.Models);
        var input = Path.Combine(_folder, "in.csv");
        ScoringFiles.WriteCsv(input, ScoringFiles.Income(500, seed: 9, new HashSet<long> { 40 }));
        var run = await ScoreRun.RunAsync("--model-repository", RepositoryPaths.Models, "--model", "income", "--input", input, "--output", Path.Combine(_folder, "out"),
            "--compare-with", server.Client.BaseAddress!.ToString(), "--compare-rows", "300", "--json");
        Assert.True(run.ExitCode == 0, run.ToString());
        using var compare = JsonDocument.Parse(run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);
        Assert.Equal("compare", compare.RootElement.GetProperty("event").GetString());
        Assert.Equal(299, compare.RootElement.GetProperty("compared").GetInt32());
        Assert.Equal(1, compare.RootElement.GetProperty("skipped_bad_rows").GetInt32());
        Assert.Equal(0, compare.RootElement.GetProperty("differ").GetInt32());

        var simple = Path.Combine(_folder, "simple.jsonl");
        await File.WriteAllLinesAsync(simple, Enumerable.Range(0, 30).Select(i =>
            $"{{\"n\": {i}, \"INPUT0\": [{string.Join(',', Enumerable.Range(i, 16))}], \"INPUT1\": [{string.Join(',', Enumerable.Repeat(2, 16))}]}}"));
        var tensors = await ScoreRun.RunAsync("--model-repository", RepositoryPaths.Models, "--model", "simple", "--input", simple, "--output", Path.Combine(_folder, "out-simple"),
            "--key-columns", "n", "--compare-with", server.Client.BaseAddress!.ToString());
        Assert.True(tensors.ExitCode == 0, tensors.ToString());
        Assert.Contains("Compared 30 rows with", tensors.Output);
        Assert.Contains("every answer is identical", tensors.Output);
    }

    [Fact]
    public async Task RowsWhoseAnswersDifferAreReported()
    {
        // Training-serving skew: the server's income standardizes age with another mean than the file's scorer does.
        var repository = Path.Combine(_folder, "repository");
        CopyDirectory(Path.Combine(RepositoryPaths.Models, "income"), Path.Combine(repository, "income"));
        var view = Path.Combine(repository, "income", "features.pbtxt");
        await File.WriteAllTextAsync(view, (await File.ReadAllTextAsync(view)).Replace("mean: 38.6", "mean: 30.0", StringComparison.Ordinal));
        await using var server = await RunningServer.StartAsync(repository);
        var input = Path.Combine(_folder, "in.csv");
        ScoringFiles.WriteCsv(input, ScoringFiles.Income(20, seed: 4));
        var run = await ScoreRun.RunAsync("--model-repository", RepositoryPaths.Models, "--model", "income", "--input", input, "--output", Path.Combine(_folder, "out"),
            "--key-columns", "id", "--compare-with", server.Client.BaseAddress!.ToString());
        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains("Compared 20 rows with", run.Output);
        Assert.Contains("20 differ", run.Output);
        Assert.Matches($@"{System.Text.RegularExpressions.Regex.Escape(input)} row 1 \(id=0\): (prediction|probability): here \S+, server \S+", run.Output);
        Assert.Contains("20 of 20 rows differ from", run.Error);
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
        foreach (var folder in Directory.GetDirectories(from))
        {
            CopyDirectory(folder, Path.Combine(to, Path.GetFileName(folder)));
        }
    }
}
