using System.Globalization;
using System.Text;
using System.Text.Json;
using InferenceServer.Tests.Common.IncomeData;
using Parquet;
using Parquet.Schema;

namespace InferenceServer.Tests.Common;

/// <summary>
/// Input files for batch scoring, and the output read back: income's raw records (the fields of its feature view, with
/// an <c>id</c>), drawn by <see cref="IncomeRecordGenerator"/> from a seed and written as Parquet, CSV or JSONL, with
/// bad rows where a test asks; and a scored output folder's part files, read in name order into rows of text, whatever
/// their format.
/// </summary>
internal static class ScoringFiles
{
    /// <summary>One raw income record; <see cref="Age"/> is text so a test can make it bad ("abc").</summary>
    public sealed record IncomeRecord(long Id, string Age, double EducationNum, double HoursPerWeek, double CapitalGain, double CapitalLoss,
        string Workclass, string Education, string MaritalStatus, string Occupation, string Relationship, string Sex)
    {
        public object[] Values() => [Id, Age, EducationNum, HoursPerWeek, CapitalGain, CapitalLoss, Workclass, Education, MaritalStatus, Occupation, Relationship, Sex];
    }

    /// <summary>
    /// <paramref name="count"/> records with ids 0.. drawn by <see cref="IncomeRecordGenerator"/> from <paramref name="seed"/>
    /// (and <paramref name="shift"/>, if any); the ids in <paramref name="bad"/> get an age that is no number.
    /// </summary>
    public static IncomeRecord[] Income(int count, int seed = 1, ISet<long>? bad = null, IncomeShift? shift = null)
    {
        var block = new IncomeColumns(Math.Max(count, 1));
        new IncomeRecordGenerator(seed, shift).Fill(block, count);
        var records = new IncomeRecord[count];
        for (var i = 0; i < count; i++)
        {
            var age = bad is not null && bad.Contains(block.Id[i]) ? "abc" : block.Age[i].ToString(CultureInfo.InvariantCulture);
            records[i] = new IncomeRecord(block.Id[i], age, block.EducationNum[i], block.HoursPerWeek[i], block.CapitalGain[i], block.CapitalLoss[i],
                block.Workclass[i], block.Education[i], block.MaritalStatus[i], block.Occupation[i], block.Relationship[i], block.Sex[i]);
        }
        return records;
    }

    public static void WriteCsv(string path, IEnumerable<IncomeRecord> records)
    {
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false));
        writer.Write(string.Join(',', IncomeRecordGenerator.Columns) + "\n");
        foreach (var record in records)
        {
            writer.Write(string.Join(',', record.Values().Select(Invariant)) + "\n");
        }
    }

    public static void WriteJsonLines(string path, IEnumerable<IncomeRecord> records)
    {
        using var file = File.Create(path);
        foreach (var record in records)
        {
            using (var json = new Utf8JsonWriter(file))
            {
                json.WriteStartObject();
                var values = record.Values();
                for (var c = 0; c < IncomeRecordGenerator.Columns.Length; c++)
                {
                    switch (values[c])
                    {
                        case string text when c == 1 && double.TryParse(text, CultureInfo.InvariantCulture, out var number):
                            json.WriteNumber(IncomeRecordGenerator.Columns[c], number);
                            break;
                        case string text:
                            json.WriteString(IncomeRecordGenerator.Columns[c], text);
                            break;
                        case long id:
                            json.WriteNumber(IncomeRecordGenerator.Columns[c], id);
                            break;
                        case double number:
                            json.WriteNumber(IncomeRecordGenerator.Columns[c], number);
                            break;
                    }
                }
                json.WriteEndObject();
            }
            file.WriteByte((byte)'\n');
        }
    }

    /// <summary>Writes a Parquet file with row groups of <paramref name="rowGroupRows"/>; age is a double column (bad ages become null).</summary>
    public static async Task WriteParquetAsync(string path, IReadOnlyList<IncomeRecord> records, int rowGroupRows)
    {
        var fields = new DataField[]
        {
            new DataField<long>("id"), new DataField<double?>("age"), new DataField<double>("education_num"), new DataField<double>("hours_per_week"),
            new DataField<double>("capital_gain"), new DataField<double>("capital_loss"), new DataField<string>("workclass"), new DataField<string>("education"),
            new DataField<string>("marital_status"), new DataField<string>("occupation"), new DataField<string>("relationship"), new DataField<string>("sex"),
        };
        await using var file = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), file);
        for (var start = 0; start < records.Count; start += rowGroupRows)
        {
            var group = records.Skip(start).Take(rowGroupRows).ToArray();
            using var rowGroup = writer.CreateRowGroup();
            await rowGroup.WriteAsync<long>(fields[0], group.Select(r => r.Id).ToArray());
            await rowGroup.WriteAsync<double>(fields[1], group.Select(r => double.TryParse(r.Age, CultureInfo.InvariantCulture, out var a) ? a : (double?)null).ToArray());
            await rowGroup.WriteAsync<double>(fields[2], group.Select(r => r.EducationNum).ToArray());
            await rowGroup.WriteAsync<double>(fields[3], group.Select(r => r.HoursPerWeek).ToArray());
            await rowGroup.WriteAsync<double>(fields[4], group.Select(r => r.CapitalGain).ToArray());
            await rowGroup.WriteAsync<double>(fields[5], group.Select(r => r.CapitalLoss).ToArray());
            await rowGroup.WriteAsync(fields[6], group.Select(r => r.Workclass).ToArray());
            await rowGroup.WriteAsync(fields[7], group.Select(r => r.Education).ToArray());
            await rowGroup.WriteAsync(fields[8], group.Select(r => r.MaritalStatus).ToArray());
            await rowGroup.WriteAsync(fields[9], group.Select(r => r.Occupation).ToArray());
            await rowGroup.WriteAsync(fields[10], group.Select(r => r.Relationship).ToArray());
            await rowGroup.WriteAsync(fields[11], group.Select(r => r.Sex).ToArray());
        }
    }

    /// <summary>Every row of an output folder's part files (in name order, so in input order): column name to value as text.</summary>
    public static async Task<List<Dictionary<string, string?>>> ReadOutputAsync(string folder)
    {
        var rows = new List<Dictionary<string, string?>>();
        foreach (var part in Directory.GetFiles(folder, "part-*").Order(StringComparer.Ordinal))
        {
            switch (Path.GetExtension(part))
            {
                case ".parquet":
                    await ReadParquetAsync(part, rows);
                    break;
                case ".csv":
                    ReadCsv(part, rows);
                    break;
                case ".jsonl":
                    foreach (var line in File.ReadLines(part))
                    {
                        using var document = JsonDocument.Parse(line);
                        rows.Add(document.RootElement.EnumerateObject().ToDictionary(p => p.Name,
                            p => p.Value.ValueKind switch
                            {
                                JsonValueKind.Null => null,
                                JsonValueKind.String => p.Value.GetString(),
                                _ => p.Value.GetRawText(),
                            }));
                    }
                    break;
                default:
                    throw new InvalidOperationException($"unexpected file {part} in the output");
            }
        }
        return rows;
    }

    private static void ReadCsv(string part, List<Dictionary<string, string?>> rows)
    {
        var lines = File.ReadAllLines(part);
        if (lines.Length == 0)
        {
            return;
        }
        var header = lines[0].Split(',');
        foreach (var line in lines.Skip(1))
        {
            var cells = line.Split(',');
            rows.Add(header.Select((h, i) => (h, cells[i])).ToDictionary(x => x.h, x => (string?)(x.Item2.Length == 0 ? null : x.Item2)));
        }
    }

    private static async Task ReadParquetAsync(string part, List<Dictionary<string, string?>> rows)
    {
        await using var file = File.OpenRead(part);
        await using var reader = await ParquetReader.CreateAsync(file);
        var fields = reader.Schema.GetDataFields();
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            var count = (int)group.RowCount;
            var columns = new List<string?[]>();
            foreach (var field in fields)
            {
                var text = new string?[count];
                if (field.ClrType == typeof(float))
                {
                    var values = new float[count];
                    await group.ReadAsync(field, values.AsMemory());
                    text = values.Select(v => (string?)v.ToString("R", CultureInfo.InvariantCulture)).ToArray();
                }
                else if (field.ClrType == typeof(double))
                {
                    var values = new double[count];
                    await group.ReadAsync(field, values.AsMemory());
                    text = values.Select(v => (string?)v.ToString("R", CultureInfo.InvariantCulture)).ToArray();
                }
                else if (field.ClrType == typeof(int))
                {
                    var values = new int[count];
                    await group.ReadAsync(field, values.AsMemory());
                    text = values.Select(v => (string?)v.ToString(CultureInfo.InvariantCulture)).ToArray();
                }
                else
                {
                    await group.ReadAsync(field, text.AsMemory());
                }
                columns.Add(text);
            }
            for (var r = 0; r < count; r++)
            {
                var row = new Dictionary<string, string?>();
                for (var c = 0; c < fields.Length; c++)
                {
                    row[fields[c].Name] = columns[c][r];
                }
                rows.Add(row);
            }
        }
    }

    private static string Invariant(object value) => value switch
    {
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        long l => l.ToString(CultureInfo.InvariantCulture),
        _ => (string)value,
    };
}
