using System.Globalization;
using InferenceServer.Core.Scoring;
using Parquet;
using Parquet.Schema;

namespace InferenceServer.UnitTests.Scoring;

/// <summary>
/// The page reader (<see cref="ParquetPageCursor"/>) gives the values Parquet.Net's own reader gives, for files written
/// by Parquet.Net: plain and dictionary-encoded, with nulls, in every codec Parquet.Net writes, one page or several a
/// chunk; a column it does not read goes through Parquet.Net whole; and a corrupt or cut-short chunk is refused with a
/// message naming the file, the row group and the column.
/// </summary>
public sealed class ParquetPageReaderTests : IDisposable
{
    private static readonly string[] Words = ["Private", "Self-emp", "Federal-gov", "", "State-gov", "Ünïcode ✓"];
    private static readonly string[] Columns = ["id", "age", "score", "ratio", "flag", "kind", "note"];

    private readonly string _folder = Directory.CreateTempSubdirectory("parquet-pages-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    public static TheoryData<CompressionMethod, bool> Codecs()
    {
        var data = new TheoryData<CompressionMethod, bool>();
        foreach (var codec in new[] { CompressionMethod.None, CompressionMethod.Snappy, CompressionMethod.Gzip, CompressionMethod.Zstd, CompressionMethod.Brotli, CompressionMethod.Lz4Raw })
        {
            data.Add(codec, true);
            data.Add(codec, false);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public async Task EveryColumnReadPageByPageGivesParquetNetsValues(CompressionMethod codec, bool dictionary)
    {
        var path = Path.Combine(_folder, $"values-{codec}-{dictionary}.parquet");
        await WriteAsync(path, [3000, 1, 2500], dictionary, codec);
        var expected = await ReadWithParquetNetAsync(path, Columns);
        var splits = await InputSplits.PlanAsync([path], 1 << 20, CancellationToken.None);

        var read = 0;
        using var batch = new RecordBatch(Columns);
        foreach (var split in splits)
        {
            await using var reader = await RecordReader.OpenAsync(split, Columns, CancellationToken.None);
            Assert.Equal(Columns.Length, Assert.IsType<ParquetRecordReader>(reader).PageReadColumns);
            var size = 1;
            while (await reader.ReadAsync(batch, size, CancellationToken.None))
            {
                for (var row = 0; row < batch.Count; row++, read++)
                {
                    for (var c = 0; c < Columns.Length; c++)
                    {
                        AssertCell(expected[c][read], batch, c, row, $"{codec}, row {read}, column {Columns[c]}");
                    }
                }
                // Batch sizes that cut the pages anywhere.
                size = size * 3 % 997 + 1;
            }
        }
        Assert.Equal(expected[0].Count, read);
    }

    [Theory]
    [InlineData(CompressionMethod.None)]
    [InlineData(CompressionMethod.Snappy)]
    [InlineData(CompressionMethod.Zstd)]
    public async Task AChunkOfSeveralPagesGivesEveryPagesValuesInOrder(CompressionMethod codec)
    {
        // Parquet.Net writes a chunk as one page, so a chunk of several is built from its pages: the data pages of three
        // row groups one after another (plain), and a dictionary page followed by its data page three times over.
        var path = Path.Combine(_folder, $"pages-{codec}.parquet");
        await WriteAsync(path, [700, 1300, 1], dictionary: true, codec);
        string[] columns = ["age", "score", "flag", "kind", "note"];
        var expected = await ReadWithParquetNetAsync(path, columns);
        await using var source = File.OpenRead(path);
        await using var parquet = await ParquetReader.CreateAsync(source);
        var fields = parquet.Schema.GetDataFields();
        var bytes = await File.ReadAllBytesAsync(path);
        for (var c = 0; c < columns.Length; c++)
        {
            var field = fields.Single(f => f.Name == columns[c]);
            var chunks = Enumerable.Range(0, parquet.RowGroupCount).Select(g =>
            {
                using var group = parquet.OpenRowGroupReader(g);
                var meta = group.GetMetadata(field)!.MetaData!;
                var start = meta.DictionaryPageOffset is > 0 and var d ? Math.Min(d, meta.DataPageOffset) : meta.DataPageOffset;
                return (Start: start, DataStart: meta.DataPageOffset, Length: meta.TotalCompressedSize, Rows: group.RowCount, Meta: meta);
            }).ToList();
            List<object?> values;
            var spliced = new MemoryStream();
            spliced.Write("PAR1"u8);
            if (chunks[0].DataStart != chunks[0].Start)
            {
                // Dictionary page, then the first row group's data page three times.
                var first = chunks[0];
                spliced.Write(bytes, (int)first.Start, (int)(first.DataStart - first.Start));
                for (var i = 0; i < 3; i++)
                {
                    spliced.Write(bytes, (int)first.DataStart, (int)(first.Start + first.Length - first.DataStart));
                }
                var once = expected[c].Take((int)first.Rows).ToList();
                values = [.. once, .. once, .. once];
            }
            else
            {
                foreach (var chunk in chunks)
                {
                    spliced.Write(bytes, (int)chunk.Start, (int)chunk.Length);
                }
                values = expected[c];
            }
            var splicedPath = Path.Combine(_folder, $"spliced-{codec}-{columns[c]}.bin");
            await File.WriteAllBytesAsync(splicedPath, spliced.ToArray());
            using var handle = File.OpenHandle(splicedPath);
            using var cursor = ParquetPageCursor.Open(handle, $"{splicedPath}: column '{columns[c]}'", (int)chunks[0].Meta.Type, (int)chunks[0].Meta.Codec,
                field.MaxDefinitionLevel, 4, spliced.Length - 4, values.Count, 256);
            using var batch = new RecordBatch([columns[c]]);
            var read = 0;
            var size = 7;
            while (read < values.Count)
            {
                var n = Math.Min(size, values.Count - read);
                batch.Reset(n);
                batch.AddRows(n, read + 1);
                cursor.Fill(batch, 0, 0, n);
                for (var row = 0; row < n; row++, read++)
                {
                    AssertCell(values[read], batch, 0, row, $"{codec}, row {read}, column {columns[c]}");
                }
                size = size * 5 % 1009 + 1;
            }
            // What it held was one page at a time (and the dictionary), within what it said it would hold.
            Assert.True(cursor.CurrentBytes <= cursor.HeldBytes, $"{columns[c]}: held {cursor.CurrentBytes} bytes, estimated {cursor.HeldBytes}");
        }
    }

    [Fact]
    public async Task AColumnThePageReaderDoesNotReadIsReadWholeByParquetNet()
    {
        // Timestamps (INT96) and a delta-encoded integer column: Parquet.Net reads them, the rest go page by page.
        var path = Path.Combine(_folder, "mixed.parquet");
        var fields = new DataField[] { new DataField<int>("delta"), new DataField<DateTime>("when"), new DataField<int>("plain") };
        var options = new ParquetOptions();
        options.ColumnEncodingHints[fields[0].Path.ToString()] = EncodingHint.DeltaBinaryPacked;
        var when = new DateTime(2024, 2, 29, 12, 0, 0, DateTimeKind.Unspecified);
        await using (var file = File.Create(path))
        {
            await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), file, options);
            using var group = writer.CreateRowGroup();
            await group.WriteAsync<int>(fields[0], Enumerable.Range(0, 500).ToArray());
            await group.WriteAsync<DateTime>(fields[1], Enumerable.Range(0, 500).Select(i => when.AddMinutes(i)).ToArray());
            await group.WriteAsync<int>(fields[2], Enumerable.Range(0, 500).Select(i => -i).ToArray());
        }
        string[] columns = ["delta", "when", "plain"];
        var split = Assert.Single(await InputSplits.PlanAsync([path], 1 << 20, CancellationToken.None));
        await using var reader = await RecordReader.OpenAsync(split, columns, CancellationToken.None);
        Assert.Equal(1, Assert.IsType<ParquetRecordReader>(reader).PageReadColumns);
        using var batch = new RecordBatch(columns);
        var read = 0;
        while (await reader.ReadAsync(batch, 128, CancellationToken.None))
        {
            for (var row = 0; row < batch.Count; row++, read++)
            {
                AssertCell(read, batch, 0, row, $"row {read}, delta");
                AssertCell(when.AddMinutes(read).ToString("O", CultureInfo.InvariantCulture), batch, 1, row, $"row {read}, when");
                AssertCell(-read, batch, 2, row, $"row {read}, plain");
            }
        }
        Assert.Equal(500, read);
    }

    [Fact]
    public async Task ACorruptPageHeaderIsRefusedNamingTheFileRowGroupAndColumn()
    {
        var path = Path.Combine(_folder, "corrupt-header.parquet");
        await WriteAsync(path, [400, 400], dictionary: false, CompressionMethod.Snappy);
        var (start, _) = await ChunkAsync(path, 1, "score");
        var bytes = await File.ReadAllBytesAsync(path);
        // A field header of an unknown type where the page header begins.
        bytes[start] = 0x1D;
        bytes[start + 1] = 0xFF;
        await File.WriteAllBytesAsync(path, bytes);

        var error = await ReadAllAsync(path);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("row group 1", error.Message, StringComparison.Ordinal);
        Assert.Contains("column 'score'", error.Message, StringComparison.Ordinal);
        Assert.Contains("page header is corrupt", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APageThatDoesNotDecompressIsRefusedNamingTheFileRowGroupAndColumn()
    {
        var path = Path.Combine(_folder, "corrupt-body.parquet");
        await WriteAsync(path, [600], dictionary: false, CompressionMethod.Snappy);
        var (start, length) = await ChunkAsync(path, 0, "id");
        var bytes = await File.ReadAllBytesAsync(path);
        // The page's compressed bytes (its last half) overwritten.
        for (var i = start + length / 2; i < start + length; i++)
        {
            bytes[i] = 0xEE;
        }
        await File.WriteAllBytesAsync(path, bytes);

        var error = await ReadAllAsync(path);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("row group 0", error.Message, StringComparison.Ordinal);
        Assert.Contains("column 'id'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AChunkCutShortIsRefusedNamingTheColumn()
    {
        var path = Path.Combine(_folder, "cut.parquet");
        await WriteAsync(path, [900], dictionary: true, CompressionMethod.None);
        var (start, length) = await ChunkAsync(path, 0, "kind");
        using var handle = File.OpenHandle(path);
        var error = Assert.Throws<ScoreException>(() => ParquetPageCursor.Open(handle, $"{path} (row group 0): column 'kind'",
            ParquetPageCursor.ByteArray, 0, 1, start, length - 3, 900, 256));
        Assert.Contains("column 'kind'", error.Message, StringComparison.Ordinal);
        Assert.Contains("cut short", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARowGroupReadPageByPageHoldsNoMoreThanItsEstimateAndLessThanWholeChunks()
    {
        const int Rows = 300_000;
        var path = Path.Combine(_folder, "big.parquet");
        await WriteAsync(path, [Rows], dictionary: true, CompressionMethod.Snappy);
        var split = Assert.Single(await InputSplits.PlanAsync([path], 1 << 20, CancellationToken.None));
        await using var reader = await RecordReader.OpenAsync(split, Columns, CancellationToken.None);
        var parquet = Assert.IsType<ParquetRecordReader>(reader);
        using var batch = new RecordBatch(Columns);
        long peak = 0;
        while (await reader.ReadAsync(batch, 4096, CancellationToken.None))
        {
            peak = Math.Max(peak, parquet.HeldBytes);
        }
        Assert.True(peak > 0);
        Assert.True(peak <= reader.DecodedBytes, $"held {peak} bytes, estimated {reader.DecodedBytes}");
        // Parquet.Net writes a chunk as one page, so here a page is a chunk; still, what the pipeline admits the row
        // group by is below the whole-chunk path's (its compact values plus Parquet.Net's passing decode).
        await using var whole = await ParquetRecordReader.OpenSplitAsync(split, Columns, wholeChunks: true, CancellationToken.None);
        Assert.True(reader.DecodedBytes < whole.DecodedBytes, $"page by page {reader.DecodedBytes} bytes, whole chunks {whole.DecodedBytes}");
    }

    private static async Task<ScoreException> ReadAllAsync(string path)
    {
        return await Assert.ThrowsAsync<ScoreException>(async () =>
        {
            foreach (var split in await InputSplits.PlanAsync([path], 1 << 20, CancellationToken.None))
            {
                await using var reader = await RecordReader.OpenAsync(split, Columns, CancellationToken.None);
                using var batch = new RecordBatch(Columns);
                while (await reader.ReadAsync(batch, 100, CancellationToken.None))
                {
                }
            }
        });
    }

    private static async Task<(long Start, long Length)> ChunkAsync(string path, int rowGroup, string column)
    {
        await using var file = File.OpenRead(path);
        await using var reader = await ParquetReader.CreateAsync(file);
        using var group = reader.OpenRowGroupReader(rowGroup);
        var meta = group.GetMetadata(reader.Schema.GetDataFields().Single(f => f.Name == column))!.MetaData!;
        var start = meta.DictionaryPageOffset is > 0 and var d ? Math.Min(d, meta.DataPageOffset) : meta.DataPageOffset;
        return (start, meta.TotalCompressedSize);
    }

    private static void AssertCell(object? expected, RecordBatch batch, int column, int row, string where)
    {
        switch (expected)
        {
            case null:
            case string { Length: 0 }:
                Assert.True(batch.Cells.IsMissing(column, row), $"{where}: expected missing");
                return;
            case string text:
                Assert.True(batch.Cells.TryGetText(column, row, out var actual), $"{where}: expected '{text}'");
                Assert.Equal(text, actual.ToString());
                return;
            default:
                var number = expected is bool flag ? (flag ? 1.0 : 0.0) : Convert.ToDouble(expected, CultureInfo.InvariantCulture);
                Assert.True(batch.Cells.TryGetNumber(column, row, out var value), $"{where}: expected {number}");
                Assert.Equal(number, value);
                return;
        }
    }

    // Every column's values as Parquet.Net's own reader gives them, row groups one after another; nulls as null.
    private static async Task<List<object?>[]> ReadWithParquetNetAsync(string path, string[] columns)
    {
        await using var file = File.OpenRead(path);
        await using var reader = await ParquetReader.CreateAsync(file);
        var fields = reader.Schema.GetDataFields();
        var all = columns.Select(_ => new List<object?>()).ToArray();
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            for (var c = 0; c < columns.Length; c++)
            {
                all[c].AddRange(await ReadColumnAsync(group, fields.Single(f => f.Name == columns[c]), checked((int)group.RowCount)));
            }
        }
        return all;
    }

    private static async Task<object?[]> ReadColumnAsync(ParquetRowGroupReader group, DataField field, int rows)
    {
        var type = field.ClrType;
        if (type == typeof(string) || type == typeof(ReadOnlyMemory<char>))
        {
            // As the file says: the defined values in order, and whether each row has one.
            var values = new ReadOnlyMemory<char>[rows];
            var levels = field.MaxDefinitionLevel > 0 ? new int[rows] : null;
            await group.ReadRawAsync(field, values.AsMemory(), levels?.AsMemory(), null);
            var texts = new object?[rows];
            var v = 0;
            for (var i = 0; i < rows; i++)
            {
                texts[i] = levels is null || levels[i] == field.MaxDefinitionLevel ? values[v++].ToString() : null;
            }
            return texts;
        }
        return type == typeof(long) ? await ReadNumbersAsync<long>(group, field, rows)
            : type == typeof(int) ? await ReadNumbersAsync<int>(group, field, rows)
            : type == typeof(double) ? await ReadNumbersAsync<double>(group, field, rows)
            : type == typeof(float) ? await ReadNumbersAsync<float>(group, field, rows)
            : type == typeof(bool) ? await ReadNumbersAsync<bool>(group, field, rows)
            : throw new InvalidOperationException($"the test reads no {type.Name} column");
    }

    private static async Task<object?[]> ReadNumbersAsync<T>(ParquetRowGroupReader group, DataField field, int rows)
        where T : struct
    {
        if (field.IsNullable)
        {
            var nullable = new T?[rows];
            await group.ReadAsync<T>(field, nullable.AsMemory());
            return [.. nullable.Select(v => v.HasValue ? (object)v.Value : null)];
        }
        var values = new T[rows];
        await group.ReadAsync<T>(field, values.AsMemory());
        return [.. values.Select(v => (object?)v)];
    }

    private static async Task WriteAsync(string path, int[] groups, bool dictionary, CompressionMethod codec)
    {
        var fields = new DataField[]
        {
            new DataField<long>("id"), new DataField<int?>("age"), new DataField<double?>("score"), new DataField<float?>("ratio"),
            new DataField<bool?>("flag"), new DataField<string>("kind"), new DataField<string>("note"),
        };
        var random = new Random(17);
        var options = new ParquetOptions { CompressionMethod = codec };
        if (dictionary)
        {
            options.ColumnEncodingHints[fields[5].Path.ToString()] = EncodingHint.Dictionary;
            options.ColumnEncodingHints[fields[6].Path.ToString()] = EncodingHint.Dictionary;
        }
        await using var file = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), file, options);
        long id = 0;
        foreach (var count in groups)
        {
            using var group = writer.CreateRowGroup();
            await group.WriteAsync<long>(fields[0], Enumerable.Range(0, count).Select(_ => id++ * 1_000_003).ToArray());
            await group.WriteAsync<int>(fields[1], Enumerable.Range(0, count).Select(_ => random.Next(10) == 0 ? (int?)null : random.Next(-5, 90)).ToArray());
            await group.WriteAsync<double>(fields[2], Enumerable.Range(0, count).Select(_ => random.Next(10) == 0 ? (double?)null : random.NextDouble() * 1e6).ToArray());
            await group.WriteAsync<float>(fields[3], Enumerable.Range(0, count).Select(_ => random.Next(9) == 0 ? (float?)null : (float)random.NextDouble()).ToArray());
            await group.WriteAsync<bool>(fields[4], Enumerable.Range(0, count).Select(_ => random.Next(5) == 0 ? (bool?)null : random.Next(2) == 0).ToArray());
            await group.WriteAsync(fields[5], Enumerable.Range(0, count).Select(_ => random.Next(8) == 0 ? null! : Words[random.Next(Words.Length)]).ToArray());
            await group.WriteAsync(fields[6], Enumerable.Range(0, count).Select(_ => random.Next(8) == 0 ? null! : "n" + random.Next(5000).ToString(CultureInfo.InvariantCulture)).ToArray());
        }
    }
}
