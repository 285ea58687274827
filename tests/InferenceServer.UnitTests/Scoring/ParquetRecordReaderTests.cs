using System.Globalization;
using InferenceServer.Core.Scoring;
using Parquet;
using Parquet.Schema;

namespace InferenceServer.UnitTests.Scoring;

/// <summary>
/// The Parquet reader, page by page and (for the columns the page reader does not read) whole a column at a time into
/// compact columns: every value comes back as
/// written (nulls missing, empty text missing), whether the writer dictionary-encoded the text or not; text costs a
/// code a row, not an object; and what the row group holds decoded stays within the estimate the pipeline admits it by.
/// </summary>
public sealed class ParquetRecordReaderTests : IDisposable
{
    private static readonly string[] Words = ["Private", "Self-emp", "Federal-gov", "", "State-gov"];
    private static readonly string[] Columns = ["id", "age", "score", "flag", "when", "kind", "note"];

    private readonly string _folder = Directory.CreateTempSubdirectory("parquet-reader-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task EveryValueComesBackAsWritten(bool dictionary)
    {
        foreach (var wholeChunks in new[] { false, true })
        {
            await EveryValueComesBackAsWrittenAsync(dictionary, wholeChunks);
        }
    }

    private async Task EveryValueComesBackAsWrittenAsync(bool dictionary, bool wholeChunks)
    {
        var path = Path.Combine(_folder, $"values-{dictionary}-{wholeChunks}.parquet");
        var groups = new[] { 1000, 1, 2500 };
        var rows = await WriteAsync(path, groups, dictionary);
        await AssertTextEncodingAsync(path, dictionary);
        var splits = await InputSplits.PlanAsync([path], 1 << 20, CancellationToken.None);
        Assert.Equal(groups.Length, splits.Count);

        var read = 0;
        using var batch = new RecordBatch(Columns);
        foreach (var split in splits)
        {
            await using var reader = await ParquetRecordReader.OpenSplitAsync(split, Columns, wholeChunks, CancellationToken.None);
            var size = 1;
            while (await reader.ReadAsync(batch, size, CancellationToken.None))
            {
                for (var row = 0; row < batch.Count; row++)
                {
                    var expected = rows[read++];
                    Assert.True(batch.Cells.TryGetNumber(0, row, out var id));
                    Assert.Equal(expected.Id, (long)id);
                    AssertNumber(expected.Age, batch, 1, row, expected.Id);
                    AssertNumber(expected.Score, batch, 2, row, expected.Id);
                    AssertNumber(expected.Flag is null ? null : expected.Flag.Value ? 1 : 0, batch, 3, row, expected.Id);
                    // Parquet stores a timestamp without its kind: it reads back unspecified, as written in ISO form.
                    AssertText(expected.When is { } when ? DateTime.SpecifyKind(when, DateTimeKind.Unspecified).ToString("O", CultureInfo.InvariantCulture) : null,
                        batch, 4, row, expected.Id);
                    AssertText(expected.Kind, batch, 5, row, expected.Id);
                    AssertText(expected.Note, batch, 6, row, expected.Id);
                }
                // Batch sizes that cut the row groups anywhere.
                size = size * 3 % 997 + 1;
            }
        }
        Assert.Equal(rows.Count, read);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ARowGroupHoldsACodeARowPerTextAndNoMoreThanItsEstimate(bool dictionary)
    {
        const int Rows = 200_000;
        var path = Path.Combine(_folder, $"big-{dictionary}.parquet");
        await WriteAsync(path, [Rows], dictionary);
        var split = Assert.Single(await InputSplits.PlanAsync([path], 1 << 20, CancellationToken.None));
        // Every column but the timestamps, which are (nearly) all distinct: each is a string.
        string[] columns = ["id", "age", "score", "flag", "kind", "note"];
        // The whole-chunk path (the page reader's is ParquetPageReaderTests').
        await using var reader = await ParquetRecordReader.OpenSplitAsync(split, columns, wholeChunks: true, CancellationToken.None);
        var parquet = Assert.IsType<ParquetRecordReader>(reader);
        Assert.Equal(0, parquet.HeldBytes);
        using var batch = new RecordBatch(columns);
        Assert.True(await reader.ReadAsync(batch, 256, CancellationToken.None));

        // id 8, age 4 + 1 (nulls), score 8 + 1, flag 1 + 1, and a 4-byte code a row for each text; the distinct
        // texts (55 here) are a few kilobytes.
        var compact = Rows * (8 + 5 + 9 + 2 + 4 * 2L);
        Assert.InRange(parquet.HeldBytes, compact, compact + (64 << 10));
        Assert.True(parquet.HeldBytes <= reader.DecodedBytes, $"held {parquet.HeldBytes} bytes, estimated {reader.DecodedBytes}");
    }

    private sealed record Row(long Id, int? Age, double? Score, bool? Flag, DateTime? When, string? Kind, string? Note);

    private static void AssertNumber(double? expected, RecordBatch batch, int column, int row, long id)
    {
        if (expected is null)
        {
            Assert.True(batch.Cells.IsMissing(column, row), $"id {id}, column {Columns[column]}: expected missing");
            return;
        }
        Assert.True(batch.Cells.TryGetNumber(column, row, out var value), $"id {id}, column {Columns[column]}: expected {expected}");
        Assert.Equal(expected.Value, value);
    }

    private static void AssertText(string? expected, RecordBatch batch, int column, int row, long id)
    {
        if (string.IsNullOrEmpty(expected))
        {
            Assert.True(batch.Cells.IsMissing(column, row), $"id {id}, column {Columns[column]}: expected missing");
            return;
        }
        Assert.True(batch.Cells.TryGetText(column, row, out var text), $"id {id}, column {Columns[column]}: expected '{expected}'");
        Assert.Equal(expected, text.ToString());
    }

    // The file is what the test says it is: its text chunks dictionary-encoded, or plain.
    private static async Task AssertTextEncodingAsync(string path, bool dictionary)
    {
        await using var file = File.OpenRead(path);
        await using var reader = await ParquetReader.CreateAsync(file);
        var text = reader.Schema.GetDataFields().First(f => f.Name == "kind");
        using var group = reader.OpenRowGroupReader(0);
        var encodings = group.GetMetadata(text)!.MetaData!.Encodings;
        Assert.Equal(dictionary, encodings.Contains(Parquet.Meta.Encoding.RLE_DICTIONARY) || encodings.Contains(Parquet.Meta.Encoding.PLAIN_DICTIONARY));
    }

    private static async Task<List<Row>> WriteAsync(string path, int[] groups, bool dictionary)
    {
        var fields = new DataField[]
        {
            new DataField<long>("id"), new DataField<int?>("age"), new DataField<double?>("score"), new DataField<bool?>("flag"),
            new DataField<DateTime?>("when"), new DataField<string>("kind"), new DataField<string>("note"),
        };
        var random = new Random(11);
        var all = new List<Row>();
        // Parquet.Net 6 dictionary-encodes a text column only when hinted to; without the hint every value is plain.
        var options = new ParquetOptions();
        if (dictionary)
        {
            foreach (var field in fields.Where(f => f.ClrType == typeof(string) || f.ClrType == typeof(ReadOnlyMemory<char>)))
            {
                options.ColumnEncodingHints[field.Path.ToString()] = EncodingHint.Dictionary;
            }
        }
        await using var file = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), file, options);
        foreach (var count in groups)
        {
            var rows = Enumerable.Range(0, count).Select(_ => new Row(
                0,
                random.Next(10) == 0 ? null : random.Next(-5, 90),
                random.Next(10) == 0 ? null : Math.Round(random.NextDouble() * 1e6, 3),
                random.Next(5) == 0 ? null : random.Next(2) == 0,
                random.Next(7) == 0 ? null : new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(random.Next()),
                random.Next(8) == 0 ? null : Words[random.Next(Words.Length)],
                random.Next(8) == 0 ? null : "n" + random.Next(50).ToString(CultureInfo.InvariantCulture))).ToList();
            for (var i = 0; i < rows.Count; i++)
            {
                rows[i] = rows[i] with { Id = all.Count + i };
            }
            using var group = writer.CreateRowGroup();
            await group.WriteAsync<long>(fields[0], rows.Select(r => r.Id).ToArray());
            await group.WriteAsync<int>(fields[1], rows.Select(r => r.Age).ToArray());
            await group.WriteAsync<double>(fields[2], rows.Select(r => r.Score).ToArray());
            await group.WriteAsync<bool>(fields[3], rows.Select(r => r.Flag).ToArray());
            await group.WriteAsync<DateTime>(fields[4], rows.Select(r => r.When).ToArray());
            await group.WriteAsync(fields[5], rows.Select(r => r.Kind!).ToArray());
            await group.WriteAsync(fields[6], rows.Select(r => r.Note!).ToArray());
            all.AddRange(rows);
        }
        return all;
    }
}
