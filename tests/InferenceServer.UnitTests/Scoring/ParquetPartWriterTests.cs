using System.Runtime.InteropServices;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Scoring;
using InferenceServer.Core.Tensors;
using Parquet;
using DataType = InferenceServer.Core.Tensors.DataType;

namespace InferenceServer.UnitTests.Scoring;

/// <summary>
/// The Parquet part writer's row groups follow the memory flag: the writer's share of a small limit gives smaller row
/// groups (what it buffers, and what Parquet.Net copies while encoding one, shrink with them), within fixed bounds; and
/// a part written with small row groups is still a whole, valid file with every row, in order.
/// </summary>
public sealed class ParquetPartWriterTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("part-writer-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static OutputSchema IncomeSchema()
    {
        var config = new ModelConfig();
        ConfigTextReader.ReadText("""
            name: "income"
            max_batch_size: 256
            input [ { name: "features" data_type: TYPE_FP32 dims: [ 58 ] } ]
            output [ { name: "probability" data_type: TYPE_FP32 dims: [ 1 ] } ]
            """, "income/config.pbtxt", config);
        return new OutputSchema("income", ["id"], config, null);
    }

    [Fact]
    public void RowGroupRowsFollowTheWritersShareOfTheMemoryLimit()
    {
        var schema = IncomeSchema();
        var rows = new[] { 16L << 20, 64L << 20, 256L << 20, 1L << 30, 8L << 30 }
            .Select(limit => ParquetPartWriter.RowsFor(schema, ScorePipeline.WriterBytes(limit)))
            .ToArray();
        // More memory, never fewer rows; a limit of 64 MB writes row groups smaller than the largest.
        for (var i = 1; i < rows.Length; i++)
        {
            Assert.True(rows[i] >= rows[i - 1], $"row group rows {string.Join(", ", rows)} should not fall as the limit grows");
        }
        Assert.True(rows[1] < ParquetPartWriter.MaxRowGroupRows, $"at 64MB the row group is {rows[1]} rows, the largest is {ParquetPartWriter.MaxRowGroupRows}");
        Assert.Equal(ParquetPartWriter.MaxRowGroupRows, rows[^1]);
        Assert.All(rows, r => Assert.True(System.Numerics.BitOperations.IsPow2(r), $"{r} rows is not a power of two"));
        // However small the limit, a row group is not a handful of rows; the buffers of the chosen size fit the share.
        Assert.Equal(ParquetPartWriter.MinRowGroupRows, ParquetPartWriter.RowsFor(schema, 1));
        foreach (var limit in new[] { 64L << 20, 256L << 20 })
        {
            var share = ScorePipeline.WriterBytes(limit);
            var chosen = ParquetPartWriter.RowsFor(schema, share);
            Assert.True(chosen * 2L * 300 <= share, $"{chosen} rows of about 300 bytes, twice, exceed the writer's {share} bytes at {limit >> 20} MB");
        }
        // The three shares together are the limit.
        const long Limit = 64L << 20;
        Assert.True(ScorePipeline.BatchBytes(Limit) + ScorePipeline.WriterBytes(Limit) + Limit / 2 == Limit);
    }

    [Fact]
    public async Task APartOfSmallRowGroupsHoldsEveryRowInOrder()
    {
        var schema = IncomeSchema();
        const long WriterBytes = 1; // the smallest row groups
        const int Batches = 9;
        const int BatchRows = 256;
        var path = Path.Combine(_folder, "part-000000.parquet");
        int rowGroupRows;
        var split = new InputSplit("in.parquet", InputFormat.Parquet, 0, 0, 0, 1, Batches * BatchRows, 0, 1, 0);
        await using (var file = new FileStream(path, FileMode.Create))
        {
            var writer = new ParquetPartWriter(file, schema, WriterBytes);
            rowGroupRows = writer.RowGroupRows;
            for (var b = 0; b < Batches; b++)
            {
                var probabilities = new float[BatchRows];
                var keys = new string?[BatchRows];
                for (var i = 0; i < BatchRows; i++)
                {
                    var n = b * BatchRows + i;
                    probabilities[i] = n / 10_000f;
                    keys[i] = n % 97 == 0 ? null : $"person-{n}";
                }
                using var batch = new ScoredBatch
                {
                    Split = split,
                    Count = BatchRows,
                    Keys = [keys],
                    Outputs = [Tensor.Copy("probability", DataType.Fp32, [BatchRows, 1], MemoryMarshal.AsBytes(probabilities.AsSpan()))],
                    ModelVersion = "1",
                    RowsRead = BatchRows,
                };
                await writer.WriteAsync(batch, CancellationToken.None);
            }
            await writer.CompleteAsync(CancellationToken.None);
            await writer.DisposeAsync();
        }
        Assert.Equal(ParquetPartWriter.MinRowGroupRows, rowGroupRows);

        await using var read = File.OpenRead(path);
        await using var reader = await ParquetReader.CreateAsync(read);
        const int Total = Batches * BatchRows;
        var groups = (Total + rowGroupRows - 1) / rowGroupRows;
        Assert.Equal(groups, reader.RowGroupCount);
        var fields = reader.Schema.GetDataFields();
        Assert.Equal(["id", "probability", "model", "model_version"], fields.Select(f => f.Name));
        var row = 0;
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            var count = Math.Min(rowGroupRows, Total - g * rowGroupRows);
            Assert.Equal(count, group.RowCount);
            var ids = new string?[count];
            var values = new float[count];
            var models = new string?[count];
            await group.ReadAsync(fields[0], ids.AsMemory());
            await group.ReadAsync(fields[1], values.AsMemory());
            await group.ReadAsync(fields[2], models.AsMemory());
            for (var i = 0; i < ids.Length; i++, row++)
            {
                Assert.Equal(row % 97 == 0 ? null : $"person-{row}", ids[i]);
                Assert.Equal(row / 10_000f, values[i]);
                Assert.Equal("income", models[i]);
            }
        }
        Assert.Equal(Total, row);
    }
}
