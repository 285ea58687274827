using System.Globalization;
using InferenceServer.Tests.Common.IncomeData;
using nietras.SeparatedValues;
using Parquet;

namespace InferenceServer.UnitTests.IncomeData;

/// <summary>
/// The generated income records the parity test and the scoring benchmark stand on: the same seed gives the same
/// records whatever the block size, the Parquet and CSV files of a seed hold the same table, the values look like the
/// UCI Adult data set's, and a shift moves the distribution a drift monitor watches.
/// </summary>
public sealed class IncomeFilesTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("income-files-").FullName;

    [Fact]
    public void The_same_seed_gives_the_same_records_whatever_the_block_size_and_another_seed_does_not()
    {
        var whole = Generate(7, 5000, 5000);
        var blocks = Generate(7, 5000, 333);
        var other = Generate(8, 5000, 5000);

        Assert.Equal(whole, blocks);
        Assert.NotEqual(whole, other);
    }

    [Fact]
    public async Task The_parquet_and_csv_files_of_a_seed_hold_the_same_table_in_the_same_order()
    {
        var parquet = Path.Combine(_folder, "r.parquet");
        var csv = Path.Combine(_folder, "r.csv");
        await IncomeFiles.WriteParquetAsync(parquet, 2500, 3, rowGroupRows: 1000);
        IncomeFiles.WriteCsv(csv, 2500, 3);

        var fromCsv = new List<string>();
        using (var reader = Sep.Reader().FromFile(csv))
        {
            Assert.Equal(IncomeRecordGenerator.Columns, reader.Header.ColNames);
            foreach (var row in reader)
            {
                var cells = new string[row.ColCount];
                for (var c = 0; c < cells.Length; c++)
                {
                    cells[c] = row[c].ToString();
                }
                fromCsv.Add(string.Join(',', cells));
            }
        }

        var fromParquet = new List<string>();
        await using (var file = File.OpenRead(parquet))
        await using (var reader = await ParquetReader.CreateAsync(file))
        {
            Assert.Equal(3, reader.RowGroupCount);
            var fields = reader.Schema.GetDataFields();
            Assert.Equal(IncomeRecordGenerator.Columns, fields.Select(f => f.Name));
            for (var g = 0; g < reader.RowGroupCount; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                var rows = (int)group.RowCount;
                var ids = new long[rows];
                await group.ReadAsync(fields[0], ids.AsMemory());
                var cells = new string[fields.Length][];
                cells[0] = [.. ids.Select(v => v.ToString(CultureInfo.InvariantCulture))];
                for (var c = 1; c < 6; c++)
                {
                    var values = new int[rows];
                    await group.ReadAsync(fields[c], values.AsMemory());
                    cells[c] = [.. values.Select(Invariant)];
                }
                for (var c = 6; c < fields.Length; c++)
                {
                    var values = new string?[rows];
                    await group.ReadAsync(fields[c], values.AsMemory());
                    cells[c] = [.. values.Select(v => v ?? "(null)")];
                }
                for (var r = 0; r < rows; r++)
                {
                    fromParquet.Add(string.Join(',', cells.Select(column => column[r])));
                }
            }
        }

        Assert.Equal(2500, fromCsv.Count);
        Assert.Equal(fromCsv, fromParquet);
        Assert.Equal(Generate(3, 2500, 2500), fromCsv);
    }

    [Fact]
    public void The_records_look_like_the_adult_data_set_and_a_significant_shift_moves_them()
    {
        var plain = Columns(11, 50_000, IncomeShift.None);
        var shifted = Columns(11, 50_000, IncomeShift.Significant);

        // The sample's distributions (models/generate.py): mean age about 38.5, a week of about 38 hours, two thirds men,
        // married couples near 45 %, capital gains rare, the data set's unknown '?' about 5.6 %.
        Assert.InRange(plain.Age.Average(), 37.5, 40.0);
        Assert.InRange(plain.HoursPerWeek.Average(), 36.0, 40.5);
        Assert.InRange(Share(plain.Sex, "Male"), 0.65, 0.69);
        Assert.InRange(Share(plain.MaritalStatus, "Married-civ-spouse"), 0.38, 0.50);
        Assert.InRange(plain.CapitalGain.Count(g => g > 0) / (double)plain.Count, 0.04, 0.09);
        Assert.InRange(Share(plain.Workclass, "?"), 0.05, 0.062);
        Assert.All(plain.Age, a => Assert.InRange(a, 17, 90));
        Assert.All(plain.HoursPerWeek, h => Assert.InRange(h, 1, 99));
        // Husbands are men and wives women, as marital status and sex decide.
        Assert.All(Enumerable.Range(0, plain.Count).Where(i => plain.Relationship[i] == "Wife"), i => Assert.Equal("Female", plain.Sex[i]));

        Assert.InRange(shifted.Age.Average() - plain.Age.Average(), 8.0, 11.0);
        Assert.InRange(shifted.HoursPerWeek.Average() - plain.HoursPerWeek.Average(), 6.0, 9.0);
        Assert.True(shifted.EducationNum.Average() > plain.EducationNum.Average() + 0.5);
        Assert.True(shifted.CapitalGain.Count(g => g > 0) > 2 * plain.CapitalGain.Count(g => g > 0));
    }

    [Fact]
    public void A_shift_of_age_moves_the_age_column_alone()
    {
        var plain = Columns(5, 20_000, IncomeShift.None);
        var older = Columns(5, 20_000, new IncomeShift { AgeYears = 12 });

        Assert.InRange(older.Age.Average() - plain.Age.Average(), 10.0, 12.0);
        Assert.Equal(plain.HoursPerWeek, older.HoursPerWeek);
        Assert.Equal(plain.MaritalStatus, older.MaritalStatus);
        Assert.Equal(plain.Relationship, older.Relationship);
        Assert.Equal(plain.Occupation, older.Occupation);
        Assert.Equal(plain.CapitalGain, older.CapitalGain);
    }

    private static double Share(string[] values, string value) => values.Count(v => v == value) / (double)values.Length;

    private static IncomeColumns Columns(int seed, int rows, IncomeShift shift)
    {
        var columns = new IncomeColumns(rows);
        new IncomeRecordGenerator(seed, shift).Fill(columns, rows);
        return columns;
    }

    // Every record as the CSV line it becomes.
    private static List<string> Generate(int seed, int rows, int block)
    {
        var generator = new IncomeRecordGenerator(seed);
        var columns = new IncomeColumns(block);
        var lines = new List<string>();
        for (var done = 0; done < rows; done += columns.Count)
        {
            generator.Fill(columns, Math.Min(block, rows - done));
            for (var i = 0; i < columns.Count; i++)
            {
                lines.Add(string.Join(',', columns.Id[i].ToString(CultureInfo.InvariantCulture), Invariant(columns.Age[i]), Invariant(columns.EducationNum[i]),
                    Invariant(columns.HoursPerWeek[i]), Invariant(columns.CapitalGain[i]), Invariant(columns.CapitalLoss[i]), columns.Workclass[i],
                    columns.Education[i], columns.MaritalStatus[i], columns.Occupation[i], columns.Relationship[i], columns.Sex[i]));
            }
        }
        return lines;
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
