using System.Globalization;
using System.IO.Hashing;
using System.Text.Json;
using InferenceServer.Core.Scoring;
using InferenceServer.FunctionalTests.Hosting;
using Xunit.Abstractions;

namespace InferenceServer.FunctionalTests.Scoring;

/// <summary>
/// The resume promise, tested the hard way: the real executable scores a file in a process of its own, is killed with
/// SIGKILL at random points (each once the manifest shows progress, plus a random few milliseconds, so kills land
/// mid-run, in writes and in commits), and is resumed; at the end every input row is in the output exactly once, in
/// order, every bad row is in the quarantine exactly once, and every part matches its manifest checksum.
/// SCORE_RESUME_KILLS sets the number of kills (default 4, small enough for CI).
/// </summary>
public sealed class ScoreResumeTests(ITestOutputHelper log) : IDisposable
{
    // Enough that a run outlasts the kill's window (a commit, then up to 40 ms) now that score runs near a million rows a
    // second: at 40,000 rows a whole run could finish inside it, and no kill landed.
    private const int Rows = 160_000;

    private readonly string _folder = Directory.CreateTempSubdirectory("score-resume-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task KilledAtRandomPointsAndResumedEveryRowIsWrittenOnce()
    {
        var kills = int.TryParse(Environment.GetEnvironmentVariable("SCORE_RESUME_KILLS"), CultureInfo.InvariantCulture, out var k) ? k : 4;
        var bad = new HashSet<long> { 17, 9_999, 25_000, 39_998 };
        var input = Path.Combine(_folder, "in.csv");
        ScoringFiles.WriteCsv(input, ScoringFiles.Income(Rows, seed: 11, bad));
        var output = Path.Combine(_folder, "out");
        string[] args =
        [
            "score", "--model-repository", RepositoryPaths.Models, "--model", "income", "--input", input, "--output", output,
            "--output-format", "csv", "--split-size", "24KB", "--batch-size", "64", "--resume", "--json",
        ];
        var random = new Random(Environment.TickCount);
        var killedMidRun = 0;
        for (var attempt = 0; attempt < kills; attempt++)
        {
            var before = Committed(output);
            using var run = ServerProcess.Start(args);
            // Past at least one more commit, then a random moment: in a batch's write, a part's rename, a manifest's.
            var target = before + random.Next(1, 12);
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!run.HasExited && Committed(output) < target && DateTime.UtcNow < deadline)
            {
                await Task.Delay(5);
            }
            await Task.Delay(random.Next(0, 40));
            if (!run.HasExited)
            {
                run.KillHard();
                killedMidRun++;
            }
            await run.WaitForExitAsync();
            log.WriteLine($"kill {attempt + 1}: splits committed before {before}, after {Committed(output)}");
        }
        using (var last = ServerProcess.Start(args))
        {
            Assert.True(await last.WaitForExitAsync() == 0, string.Join('\n', last.Error));
        }

        var manifest = ScoreManifest.Load(output)!;
        Assert.True(manifest.Complete);
        Assert.True(killedMidRun >= Math.Min(1, kills), $"no kill landed mid-run ({kills} tried)");
        var ids = (await ScoringFiles.ReadOutputAsync(output)).Select(r => long.Parse(r["id"]!, CultureInfo.InvariantCulture)).ToList();
        var expected = Enumerable.Range(0, Rows).Select(i => (long)i).Where(i => !bad.Contains(i)).ToList();
        var lost = expected.Except(ids).Count();
        var duplicated = ids.Count - ids.Distinct().Count();
        log.WriteLine($"{kills} kills ({killedMidRun} mid-run): {ids.Count} rows written, {lost} lost, {duplicated} duplicated");
        Assert.Equal(0, lost);
        Assert.Equal(0, duplicated);
        Assert.Equal(expected, ids);

        var quarantined = File.ReadAllLines(Path.Combine(output, ScorePipeline.QuarantineFileName))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("raw").GetProperty("id").GetString()).ToList();
        Assert.Equal(bad.Order().Select(b => b.ToString(CultureInfo.InvariantCulture)), quarantined);

        var parts = Directory.GetFiles(output).Select(Path.GetFileName).Where(n => n!.StartsWith(ScorePipeline.PartPrefix, StringComparison.Ordinal)).Order().ToList();
        Assert.Equal(manifest.Splits.Select(s => s.Part).Order(), parts);
        foreach (var split in manifest.Splits)
        {
            var bytes = await File.ReadAllBytesAsync(Path.Combine(output, split.Part));
            Assert.Equal(split.PartBytes, bytes.Length);
            Assert.Equal(split.Checksum, Convert.ToHexStringLower(XxHash64.Hash(bytes)));
        }
    }

    private static int Committed(string output)
    {
        try
        {
            return ScoreManifest.Load(output)?.Splits.Count ?? 0;
        }
        catch (Exception e) when (e is IOException or ScoreException)
        {
            // Read while being replaced: the next poll sees it whole.
            return 0;
        }
    }
}
