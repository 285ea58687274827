using nietras.SeparatedValues;
using Parquet;
using Parquet.Schema;

namespace InferenceServer.Tests.Common.IncomeData;

/// <summary>
/// Writes generated income records (<see cref="IncomeRecordGenerator"/>) to a Parquet file (Parquet.Net, one row group
/// per block, the categorical columns dictionary-encoded) or a CSV file (Sep, with a header row). The same rows, seed and shift give the same records in either
/// format, so a file of each is the same table.
/// </summary>
internal static class IncomeFiles
{
    /// <summary>Rows per Parquet row group: large enough for column-wise reading to pay, small enough to hold in memory.</summary>
    public const int DefaultRowGroupRows = 1_000_000;

    // CSV is written block by block too, so the generator's tables stay hot and nothing grows with the file.
    private const int CsvBlockRows = 65_536;

    /// <summary>The Parquet schema: id INT64, the numeric fields INT32, the categorical ones UTF-8 strings.</summary>
    public static ParquetSchema ParquetSchema { get; } = new(
        new DataField<long>("id"),
        new DataField<int>("age"),
        new DataField<int>("education_num"),
        new DataField<int>("hours_per_week"),
        new DataField<int>("capital_gain"),
        new DataField<int>("capital_loss"),
        new DataField<string>("workclass"),
        new DataField<string>("education"),
        new DataField<string>("marital_status"),
        new DataField<string>("occupation"),
        new DataField<string>("relationship"),
        new DataField<string>("sex"));

    /// <summary>
    /// The categorical columns dictionary-encoded, as Spark and pyarrow write them by default. Parquet.Net 6 writes
    /// every column plain unless a column is hinted so, which would make a file unlike our users'.
    /// </summary>
    private static ParquetOptions DictionaryText()
    {
        var options = new ParquetOptions();
        foreach (var column in ParquetSchema.DataFields)
        {
            if (column.ClrType == typeof(string) || column.ClrType == typeof(ReadOnlyMemory<char>))
            {
                options.ColumnEncodingHints[column.Path.ToString()] = EncodingHint.Dictionary;
            }
        }
        return options;
    }

    /// <summary>Writes <paramref name="rows"/> records to a new Parquet file at <paramref name="path"/>.</summary>
    public static async Task WriteParquetAsync(string path, long rows, int seed, IncomeShift? shift = null,
        int rowGroupRows = DefaultRowGroupRows, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rowGroupRows);
        var generator = new IncomeRecordGenerator(seed, shift);
        var block = new IncomeColumns((int)Math.Min(rowGroupRows, Math.Max(rows, 1)));
        var fields = ParquetSchema.DataFields;
        await using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20, useAsync: true);
        await using var writer = await ParquetWriter.CreateAsync(ParquetSchema, stream, DictionaryText(), cancellationToken: cancellationToken).ConfigureAwait(false);
        for (long written = 0; written < rows; written += block.Count)
        {
            generator.Fill(block, (int)Math.Min(block.Capacity, rows - written));
            var n = block.Count;
            using var group = writer.CreateRowGroup();
            await group.WriteAsync<long>(fields[0], block.Id.AsMemory(0, n), null, null, cancellationToken).ConfigureAwait(false);
            await group.WriteAsync<int>(fields[1], block.Age.AsMemory(0, n), null, null, cancellationToken).ConfigureAwait(false);
            await group.WriteAsync<int>(fields[2], block.EducationNum.AsMemory(0, n), null, null, cancellationToken).ConfigureAwait(false);
            await group.WriteAsync<int>(fields[3], block.HoursPerWeek.AsMemory(0, n), null, null, cancellationToken).ConfigureAwait(false);
            await group.WriteAsync<int>(fields[4], block.CapitalGain.AsMemory(0, n), null, null, cancellationToken).ConfigureAwait(false);
            await group.WriteAsync<int>(fields[5], block.CapitalLoss.AsMemory(0, n), null, null, cancellationToken).ConfigureAwait(false);
            string[][] texts = [block.Workclass, block.Education, block.MaritalStatus, block.Occupation, block.Relationship, block.Sex];
            for (var t = 0; t < texts.Length; t++)
            {
                await group.WriteAsync(fields[6 + t], new ArraySegment<string>(texts[t], 0, n)).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Writes <paramref name="rows"/> records to a new CSV file at <paramref name="path"/> (header row first).</summary>
    public static void WriteCsv(string path, long rows, int seed, IncomeShift? shift = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        var generator = new IncomeRecordGenerator(seed, shift);
        var block = new IncomeColumns((int)Math.Min(CsvBlockRows, Math.Max(rows, 1)));
        using var writer = Sep.New(',').Writer().ToFile(path);
        writer.Header.Add(IncomeRecordGenerator.Columns);
        if (rows == 0)
        {
            writer.Header.Write();
            return;
        }
        for (long written = 0; written < rows; written += block.Count)
        {
            generator.Fill(block, (int)Math.Min(block.Capacity, rows - written));
            for (var i = 0; i < block.Count; i++)
            {
                using var row = writer.NewRow();
                row[0].Format(block.Id[i]);
                row[1].Format(block.Age[i]);
                row[2].Format(block.EducationNum[i]);
                row[3].Format(block.HoursPerWeek[i]);
                row[4].Format(block.CapitalGain[i]);
                row[5].Format(block.CapitalLoss[i]);
                row[6].Set(block.Workclass[i]);
                row[7].Set(block.Education[i]);
                row[8].Set(block.MaritalStatus[i]);
                row[9].Set(block.Occupation[i]);
                row[10].Set(block.Relationship[i]);
                row[11].Set(block.Sex[i]);
            }
        }
    }
}
