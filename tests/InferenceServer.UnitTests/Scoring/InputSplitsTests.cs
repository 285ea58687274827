using System.Globalization;
using System.Text;
using InferenceServer.Core.Scoring;
using Parquet;
using Parquet.Schema;

namespace InferenceServer.UnitTests.Scoring;

/// <summary>
/// Splits and shards cover the input exactly once, in order, whatever the sizes: random files (line lengths, line
/// endings, a last line with or without its newline, a header longer than a split), random split sizes and shard
/// counts; every row is read back through <see cref="RecordReader"/>, as the scorer reads it.
/// </summary>
public sealed class InputSplitsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("splits-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData(InputFormat.Csv)]
    [InlineData(InputFormat.JsonLines)]
    public async Task TextSplitsReadEveryLineOnceInOrder(InputFormat format)
    {
        for (var seed = 1; seed <= 60; seed++)
        {
            var random = new Random(seed);
            var rows = random.Next(0, 250);
            var path = Path.Combine(_folder, $"data-{seed}{(format == InputFormat.Csv ? ".csv" : ".jsonl")}");
            var newline = random.Next(3) == 0 ? "\r\n" : "\n";
            WriteText(path, format, rows, random, newline, lastNewline: random.Next(2) == 0, longHeader: random.Next(4) == 0);
            var splitBytes = random.Next(1, 3000);
            var splits = await InputSplits.PlanAsync([path], splitBytes, CancellationToken.None);
            Assert.Equal(Math.Max(1, (new FileInfo(path).Length + splitBytes - 1) / splitBytes), splits.Count);

            var ids = await ReadIdsAsync(splits);
            Assert.True(Enumerable.Range(0, rows).Select(i => (long)i).SequenceEqual(ids),
                $"seed {seed}: {rows} rows, split {splitBytes} bytes, {splits.Count} splits: read {ids.Count} ids");

            var shards = random.Next(1, 6);
            var sharded = new List<long>();
            for (var shard = 0; shard < shards; shard++)
            {
                sharded.AddRange(await ReadIdsAsync(InputSplits.Shard(splits, shard, shards)));
            }
            Assert.Equal(ids, sharded);
        }
    }

    [Fact]
    public async Task ParquetSplitsAreRowGroupsAndShardsCoverThemOnce()
    {
        for (var seed = 1; seed <= 12; seed++)
        {
            var random = new Random(seed);
            var files = new List<string>();
            var expected = new List<long>();
            var next = 0L;
            for (var f = 0; f < random.Next(1, 4); f++)
            {
                var path = Path.Combine(_folder, $"p{seed}-{f}.parquet");
                var groups = random.Next(1, 6);
                var field = new DataField<long>("id");
                await using (var file = File.Create(path))
                await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(field), file))
                {
                    for (var g = 0; g < groups; g++)
                    {
                        var count = random.Next(1, 40);
                        var values = Enumerable.Range(0, count).Select(_ => next++).ToArray();
                        expected.AddRange(values);
                        using var group = writer.CreateRowGroup();
                        await group.WriteAsync<long>(field, values);
                    }
                }
                files.Add(path);
            }
            var splits = await InputSplits.PlanAsync(files, 1 << 20, CancellationToken.None);
            Assert.Equal(expected.Count, splits.Sum(s => s.Rows));
            Assert.Equal(expected, await ReadIdsAsync(splits));
            var shards = random.Next(1, 8);
            var sharded = new List<long>();
            var seen = new HashSet<int>();
            for (var shard = 0; shard < shards; shard++)
            {
                var taken = InputSplits.Shard(splits, shard, shards);
                Assert.All(taken, s => Assert.True(seen.Add(s.Index), $"split {s.Index} is in two shards"));
                sharded.AddRange(await ReadIdsAsync(taken));
            }
            Assert.Equal(expected, sharded);
        }
    }

    [Fact]
    public async Task FilesOfAFolderAreTakenInPathOrderAndGlobsMatchNames()
    {
        foreach (var name in new[] { "b.csv", "a.csv", "c.jsonl", "notes.txt" })
        {
            await File.WriteAllTextAsync(Path.Combine(_folder, name), name.EndsWith(".csv", StringComparison.Ordinal) ? "id\n1\n" : "{\"id\":1}\n");
        }
        Assert.Equal(["a.csv", "b.csv", "c.jsonl"], ScoreInput.ResolveFiles(_folder).Select(Path.GetFileName));
        Assert.Equal(["a.csv", "b.csv"], ScoreInput.ResolveFiles(Path.Combine(_folder, "*.csv")).Select(Path.GetFileName));
        Assert.Contains("matches no file", Assert.Throws<ScoreException>(() => ScoreInput.ResolveFiles(Path.Combine(_folder, "*.parquet"))).Message);
        Assert.Contains("expected .parquet, .csv, .jsonl", Assert.Throws<ScoreException>(() => ScoreInput.ResolveFiles(Path.Combine(_folder, "notes.txt"))).Message);
    }

    [Fact]
    public async Task RowsBeforeASplitGiveTheFileRowNumbers()
    {
        var path = Path.Combine(_folder, "numbers.csv");
        WriteText(path, InputFormat.Csv, 500, new Random(3), "\n", lastNewline: true, longHeader: false);
        var splits = await InputSplits.PlanAsync([path], 700, CancellationToken.None);
        foreach (var split in splits)
        {
            await using var reader = await RecordReader.OpenAsync(split, ["id"], CancellationToken.None);
            using var batch = new RecordBatch(["id"]);
            var before = InputSplits.RowsBefore(split);
            while (await reader.ReadAsync(batch, 7, CancellationToken.None))
            {
                for (var row = 0; row < batch.Count; row++)
                {
                    // Ids are 0-based data rows; row numbers are 1-based.
                    Assert.Equal(Id(batch, row) + 1, before + batch.RowNumber(row));
                }
            }
        }
    }

    private static void WriteText(string path, InputFormat format, int rows, Random random, string newline, bool lastNewline, bool longHeader)
    {
        var text = new StringBuilder();
        if (format == InputFormat.Csv)
        {
            text.Append("id,text").Append(longHeader ? new string('h', 4000) : "").Append(newline);
        }
        for (var i = 0; i < rows; i++)
        {
            var filler = new string((char)('a' + random.Next(26)), random.Next(0, 120));
            text.Append(format == InputFormat.Csv
                ? string.Create(CultureInfo.InvariantCulture, $"{i},{filler}")
                : string.Create(CultureInfo.InvariantCulture, $"{{\"id\":{i},\"text\":\"{filler}\"}}"));
            if (i < rows - 1 || lastNewline)
            {
                text.Append(newline);
            }
        }
        File.WriteAllText(path, text.ToString());
    }

    private static async Task<List<long>> ReadIdsAsync(IEnumerable<InputSplit> splits)
    {
        var ids = new List<long>();
        using var batch = new RecordBatch(["id"]);
        foreach (var split in splits)
        {
            await using var reader = await RecordReader.OpenAsync(split, ["id"], CancellationToken.None);
            while (await reader.ReadAsync(batch, 13, CancellationToken.None))
            {
                Assert.Empty(batch.Problems);
                for (var row = 0; row < batch.Count; row++)
                {
                    ids.Add(Id(batch, row));
                }
            }
        }
        return ids;
    }

    private static long Id(RecordBatch batch, int row)
    {
        if (batch.Cells.TryGetNumber(0, row, out var number))
        {
            return (long)number;
        }
        Assert.True(batch.Cells.TryGetText(0, row, out var text), $"row {row} has no id");
        return long.Parse(text, CultureInfo.InvariantCulture);
    }
}
