using System.IO.Hashing;
using InferenceServer.Core.Scoring;
using InferenceServer.FunctionalTests.Hosting;
using InferenceServer.Tests.Common.IncomeData;
using Parquet;
using Xunit.Abstractions;

namespace InferenceServer.FunctionalTests.Scoring;

/// <summary>
/// A run that fails part way ends: exit code 1, one line that says what went wrong, every stage stopped, and what it
/// committed before still valid. A split that fails while the next one is being read once stalled the whole run: the
/// reader waited for the next split's lane, whose batches nobody took any more (found under a tight GC heap limit,
/// where a page's decoding ran out of memory; a corrupt page does the same, every time). Each run here is given two
/// minutes: a stall fails the test instead of hanging it.
/// </summary>
public sealed class ScoreFailureTests(ITestOutputHelper log) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    private readonly string _folder = Directory.CreateTempSubdirectory("score-failure-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string PathOf(string name) => Path.Combine(_folder, name);

    [Fact]
    public async Task ASplitThatFailsWhileTheNextIsReadEndsTheRunWithExitCode1AndTheCommittedSplitsStayValid()
    {
        // Row groups of 1,000 rows in batches of 64: the next split's lane has more batches than its channel holds.
        var input = PathOf("in.parquet");
        await ScoringFiles.WriteParquetAsync(input, ScoringFiles.Income(4000, seed: 3), rowGroupRows: 1000);
        var bytes = await File.ReadAllBytesAsync(input);
        // A field header of an unknown type where row group 1's first page header of column 'age' begins.
        var start = await ChunkStartAsync(input, 1, "age");
        bytes[start] = 0x1D;
        bytes[start + 1] = 0xFF;
        await File.WriteAllBytesAsync(input, bytes);
        var output = PathOf("out");
        string[] args = ["--model-repository", RepositoryPaths.Models, "--model", "income", "--input", input, "--output", output, "--batch-size", "64"];

        var run = await ScoreRun.RunAsync(args).WaitAsync(Patience);
        log.WriteLine(run.ToString());
        Assert.Equal(1, run.ExitCode);
        var line = Assert.Single(run.Error.Trim().Split('\n'));
        Assert.Contains("row group 1", line, StringComparison.Ordinal);
        Assert.Contains("column 'age'", line, StringComparison.Ordinal);
        AssertCommittedPartsMatchTheManifest(output);

        // The same again with --resume: it ends the same way, and what was committed stays.
        var resumed = await ScoreRun.RunAsync([.. args, "--resume"]).WaitAsync(Patience);
        Assert.Equal(1, resumed.ExitCode);
        Assert.Contains("column 'age'", resumed.Error, StringComparison.Ordinal);
        AssertCommittedPartsMatchTheManifest(output);
    }

    [Fact]
    public async Task UnderATightGcHeapLimitTheRealExecutableEndsWithTheRowsOrAClearOutOfMemoryError()
    {
        // The real executable, as in a container whose memory limit sets the collector's: the run either scores every
        // row or stops with exit code 1 and the out-of-memory line; it never stalls.
        const int Rows = 200_000;
        var input = PathOf("in.parquet");
        await ScoringFiles.WriteParquetAsync(input, ScoringFiles.Income(Rows, seed: 9), rowGroupRows: 50_000);
        var output = PathOf("out");
        string[] args =
        [
            "score", "--model-repository", RepositoryPaths.Models, "--model", "income", "--input", input, "--output", output,
            "--batch-size", "256", "--memory-limit", "64MB", "--json",
        ];
        using var process = ServerProcess.Start(args, new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "0x3000000" });
        var code = await process.WaitForExitAsync().WaitAsync(Patience);
        log.WriteLine($"exit {code}; stderr: {string.Join('\n', process.Error)}");
        // 64MB asked, more than half of the 48 MB heap limit: the run says it holds 24 MB.
        Assert.Contains(process.Error, l => l.Contains("the run holds at most 24 MB", StringComparison.Ordinal));
        if (code == 0)
        {
            Assert.Contains(process.Output, l => l.Contains("\"event\":\"summary\"", StringComparison.Ordinal) && l.Contains($"\"rows\":{Rows},", StringComparison.Ordinal));
            Assert.True(ScoreManifest.Load(output)!.Complete);
        }
        else
        {
            // The error's one line, after the note that the run holds at most half of the heap limit.
            Assert.Equal(1, code);
            Assert.All(process.Error, l => Assert.StartsWith("inference-server score: ", l, StringComparison.Ordinal));
            var line = process.Error[^1];
            Assert.StartsWith("inference-server score: out of memory while ", line, StringComparison.Ordinal);
            Assert.Contains("--memory-limit", line, StringComparison.Ordinal);
            AssertCommittedPartsMatchTheManifest(output);
        }
    }

    [Fact]
    public async Task RowGroupsOfOnePagePerColumnScoreToTheEndUnderATightGcHeapLimit()
    {
        // Parquet.Net writes a column chunk as one page, so a 400,000-row row group of the generator's records holds
        // about 15 MB of pages at once, more than the run's 12 MB read share: it is admitted alone. Each SNAPPY page
        // was decompressed by Snappier into a second page-sized buffer from the shared array pool, which kept one per
        // size: under this 48 MB heap limit the run ran out of memory in its first split; it must score every row.
        // (Income's 10M-row files of 1M-row row groups did the same under a 128 MB limit, RESULTS stop 31.)
        const int Rows = 1_200_000;
        var input = PathOf("in.parquet");
        await IncomeFiles.WriteParquetAsync(input, Rows, seed: 9, rowGroupRows: 400_000);
        var output = PathOf("out");
        string[] args =
        [
            "score", "--model-repository", RepositoryPaths.Models, "--model", "income", "--input", input, "--output", output,
            "--output-format", "parquet", "--batch-size", "256", "--memory-limit", "64MB", "--json",
        ];
        using var process = ServerProcess.Start(args, new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "0x3000000" });
        var code = await process.WaitForExitAsync().WaitAsync(Patience);
        log.WriteLine($"exit {code}; stderr: {string.Join('\n', process.Error)}");
        Assert.Equal(0, code);
        Assert.Contains(process.Output, l => l.Contains("\"event\":\"summary\"", StringComparison.Ordinal) && l.Contains($"\"rows\":{Rows},", StringComparison.Ordinal));
        Assert.True(ScoreManifest.Load(output)!.Complete);
    }

    private static void AssertCommittedPartsMatchTheManifest(string output)
    {
        var manifest = ScoreManifest.Load(output);
        if (manifest is null)
        {
            return;
        }
        Assert.False(manifest.Complete);
        foreach (var split in manifest.Splits)
        {
            var bytes = File.ReadAllBytes(Path.Combine(output, split.Part));
            Assert.Equal(split.PartBytes, bytes.Length);
            Assert.Equal(split.Checksum, Convert.ToHexStringLower(XxHash64.Hash(bytes)));
        }
        // Nothing half-written is left: every part file is a committed one.
        var parts = Directory.GetFiles(output, ScorePipeline.PartPrefix + "*").Select(Path.GetFileName).Order();
        Assert.Equal(manifest.Splits.Select(s => s.Part).Order(), parts);
    }

    private static async Task<long> ChunkStartAsync(string path, int rowGroup, string column)
    {
        await using var file = File.OpenRead(path);
        await using var reader = await ParquetReader.CreateAsync(file);
        using var group = reader.OpenRowGroupReader(rowGroup);
        var meta = group.GetMetadata(reader.Schema.GetDataFields().Single(f => f.Name == column))!.MetaData!;
        return meta.DictionaryPageOffset is > 0 and var d ? Math.Min(d, meta.DataPageOffset) : meta.DataPageOffset;
    }
}
