using InferenceServer.Cli;
using InferenceServer.Core.Scoring;

namespace InferenceServer.FunctionalTests.Scoring;

/// <summary><c>score</c>'s flag values: sizes, bad-row limits, shards, and the request the command line makes.</summary>
public sealed class ScoreFlagTests
{
    [Theory]
    [InlineData("256MB", 256L << 20)]
    [InlineData("2GB", 2L << 30)]
    [InlineData("1.5 GiB", 3L << 29)]
    [InlineData("64k", 64L << 10)]
    [InlineData("1048576", 1L << 20)]
    [InlineData("12 apples", null)]
    [InlineData("MB", null)]
    [InlineData("0", null)]
    public void SizesTakeBinaryUnits(string text, long? bytes) => Assert.Equal(bytes, ScoreCommand.ParseSize(text));

    [Theory]
    [InlineData("10", 10, 9, false)]
    [InlineData("10", 11, 1_000_000, true)]
    [InlineData("0", 1, 1, true)]
    [InlineData("1%", 10, 1000, false)]
    [InlineData("1%", 11, 1000, true)]
    [InlineData("1%", 5, 100, false)] // a percentage waits for 1,000 rows
    public void BadRowLimitsAreCountsOrPercentages(string text, long bad, long read, bool exceeded) =>
        Assert.Equal(exceeded, BadRowLimit.Parse(text)!.Exceeded(bad, read));

    [Theory]
    [InlineData("many")]
    [InlineData("-1")]
    [InlineData("101%")]
    public void OtherBadRowLimitsAreRefused(string text) => Assert.Null(BadRowLimit.Parse(text));

    [Fact]
    public void TheCommandLineBecomesTheRun()
    {
        var request = CommandLine.ParseScore([
            "--model-repository", "/models", "--model", "income", "--model-version", "2", "--input", "in/*.csv", "--output", "out",
            "--output-format", "CSV", "--batch-size", "128", "--memory-limit", "64MB", "--key-columns", "id, region", "--resume", "--shard", "3/8",
            "--max-bad-rows", "0.5%", "--quarantine", "bad.jsonl", "--json", "--compare-with", "http://localhost:8000", "--compare-rows", "50",
            "--split-size", "8MB",
        ]);
        Assert.Equal("/models", request.ModelRepository);
        var options = request.Options;
        Assert.Equal(("income", "2", "in/*.csv", "out"), (options.Model, options.ModelVersion, options.Input, options.Output));
        Assert.Equal(OutputFormat.Csv, options.OutputFormat);
        Assert.Equal((128, 64L << 20, 8L << 20), (options.BatchSize, options.MemoryLimit, options.SplitBytes));
        Assert.Equal(["id", "region"], options.KeyColumns);
        Assert.True(options.Resume);
        Assert.Equal((3, 8), (options.Shard, options.Shards));
        Assert.Equal("0.5%", options.MaxBadRows.ToString());
        Assert.Equal("bad.jsonl", options.Quarantine);
        Assert.True(request.Json);
        Assert.Equal(new Uri("http://localhost:8000"), request.CompareWith);
        Assert.Equal(50, request.CompareRows);

        var defaults = CommandLine.ParseScore(["--model-repository", "m", "--model", "x", "--input", "i.parquet", "--output", "o"]);
        Assert.Equal((OutputFormat.Parquet, 0, 256L << 20, false, 0, 1), (defaults.Options.OutputFormat, defaults.Options.BatchSize,
            defaults.Options.MemoryLimit, defaults.Options.Resume, defaults.Options.Shard, defaults.Options.Shards));
        Assert.Null(defaults.Options.KeyColumns);
        Assert.Same(BadRowLimit.None, defaults.Options.MaxBadRows);
        Assert.Equal((Environment.ProcessorCount, 1), (defaults.Instances, defaults.IntraOpThreads));
    }

    [Fact]
    public void TheRunsInstancesAndThreadsAreFlags()
    {
        string[] required = ["--model-repository", "m", "--model", "x", "--input", "i.parquet", "--output", "o"];
        var given = CommandLine.ParseScore([.. required, "--instances", "3", "--intra-op-threads", "2"]);
        Assert.Equal((3, 2), (given.Instances, given.IntraOpThreads));
        var asConfigured = CommandLine.ParseScore([.. required, "--instances", "config", "--intra-op-threads", "config"]);
        Assert.Equal((null, null), (asConfigured.Instances, asConfigured.IntraOpThreads));
    }
}
