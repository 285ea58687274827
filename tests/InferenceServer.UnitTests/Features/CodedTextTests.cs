using InferenceServer.Core.Features;
using InferenceServer.Core.Tensors;

namespace InferenceServer.UnitTests.Features;

/// <summary>
/// Text given as codes into a field's distinct values (what the batch scorer hands over for a Parquet column) is
/// encoded once per distinct value, and gives exactly what the same text given row by row gives: the same tensor bytes,
/// the same fall-back to the store or the default for blank numbers, and the same refusal at the same row.
/// </summary>
public sealed class CodedTextTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);

    private static FeatureView Income { get; } =
        FeatureViewReader.Parse(File.ReadAllText(Path.Combine(RepositoryPaths.Models, "income", FeatureView.FileName)), "income");

    private static FeatureView View(string features, string columns, string store = "") =>
        FeatureViewReader.Parse($"{store}\n{features}\noutput {{ name: \"out\" datatype: \"FP64\" column: [ {columns} ] }}", "t");

    // One column's rows: a code into the values, or -1 for a missing value.
    private static byte[] Transform(FeatureView view, string field, ReadOnlyMemory<char>[] values, int[] codes, bool coded,
        Action<FeatureRows>? more = null)
    {
        Assert.True(view.TryGetField(field, out var index));
        using var rows = view.RentRows(codes.Length);
        if (coded)
        {
            rows.SetTextValues(index, values);
        }
        for (var row = 0; row < codes.Length; row++)
        {
            if (codes[row] < 0)
            {
                continue;
            }
            if (coded)
            {
                rows.SetTextCode(row, index, codes[row]);
            }
            else
            {
                rows.SetText(row, index, values[codes[row]].Span);
            }
        }
        more?.Invoke(rows);
        var tensors = view.Transform(rows, Now);
        try
        {
            return [.. tensors.SelectMany(t => t.Data.ToArray())];
        }
        finally
        {
            foreach (var tensor in tensors)
            {
                tensor.Dispose();
            }
        }
    }

    private static ReadOnlyMemory<char>[] Values(params string[] texts) => [.. texts.Select(t => t.AsMemory())];

    [Fact]
    public void IncomeRecordsGiveTheSameTensorBytesCodedAsRowByRow()
    {
        var random = new Random(5);
        // Every field of the record at once: numbers per row, each text field coded into its values (vocabulary
        // words, the data set's unknown '?', a word no vocabulary has, and a value in another case).
        var texts = new Dictionary<string, ReadOnlyMemory<char>[]>
        {
            ["workclass"] = Values("Private", "?", "Self-emp-inc", "Never-worked", "private"),
            ["education"] = Values("HS-grad", "Doctorate", "?", "Preschool"),
            ["marital_status"] = Values("Never-married", "Widowed", "Martian"),
            ["occupation"] = Values("Sales", "Armed-Forces", "?"),
            ["relationship"] = Values("Husband", "Wife", "Unmarried", ""),
            ["sex"] = Values("Female", "Male", "?"),
        };
        const int Count = 700;
        var codes = texts.ToDictionary(t => t.Key, t => Enumerable.Range(0, Count).Select(_ => random.Next(-1, t.Value.Length)).ToArray());
        var numbers = new[] { "age", "education_num", "hours_per_week", "capital_gain", "capital_loss" }
            .ToDictionary(n => n, _ => Enumerable.Range(0, Count).Select(_ => (double)random.Next(0, 100_000)).ToArray());

        byte[] Encode(bool coded)
        {
            using var rows = Income.RentRows(Count);
            foreach (var (name, values) in numbers)
            {
                Assert.True(Income.TryGetField(name, out var field));
                for (var row = 0; row < Count; row++)
                {
                    rows.SetNumber(row, field, values[row]);
                }
            }
            foreach (var (name, values) in texts)
            {
                Assert.True(Income.TryGetField(name, out var field));
                if (coded)
                {
                    rows.SetTextValues(field, values);
                }
                for (var row = 0; row < Count; row++)
                {
                    var code = codes[name][row];
                    if (code >= 0 && coded)
                    {
                        rows.SetTextCode(row, field, code);
                    }
                    else if (code >= 0)
                    {
                        rows.SetText(row, field, values[code].Span);
                    }
                }
            }
            var tensors = Income.Transform(rows, Now);
            try
            {
                return [.. tensors.SelectMany(t => t.Data.ToArray())];
            }
            finally
            {
                foreach (var tensor in tensors)
                {
                    tensor.Dispose();
                }
            }
        }

        var perRow = Encode(coded: false);
        Assert.Equal(Count * Income.Outputs[0].Width * DataType.Fp32.ElementSize(), perRow.Length);
        Assert.Equal(perRow, Encode(coded: true));
    }

    [Fact]
    public void CodedTextForANumberIsParsedOnceAndABlankOneFallsBackToEachRowsStoreValueOrDefault()
    {
        var view = View("feature { name: \"x\" transform { standardize { mean: 1 std: 2 } } default_number: 5 }", "\"x\"",
            "entity_key: \"id\"\nstore { key_pattern: \"e:{id}\" ttl_seconds: 10 }");
        var values = Values(" 1.5e3 ", "  ", "NaN", "-2.25");
        int[] codes = [0, 1, 2, 1, 3, -1, 1, 0];
        // Rows 1 and 6 have a stored value; row 3 has none, so its blank takes the default.
        void Store(FeatureRows rows)
        {
            rows.SetStoredAt(1, Now.ToUnixTimeMilliseconds());
            rows.SetStoreValue(1, 0, "9"u8);
            rows.SetStoredAt(6, Now.ToUnixTimeMilliseconds());
            rows.SetStoreValue(6, 0, "11"u8);
        }
        var perRow = Transform(view, "x", values, codes, coded: false, Store);
        Assert.Equal(perRow, Transform(view, "x", values, codes, coded: true, Store));
        var encoded = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(perRow).ToArray();
        Assert.Equal([(1500 - 1) / 2.0, 4, 2, 2, -1.625, 2, 5, (1500 - 1) / 2.0], encoded);
    }

    [Fact]
    public void ACodedValueThatIsRefusedIsRefusedAtTheSameRowAsRowByRow()
    {
        var ordinal = View("feature { name: \"c\" kind: TEXT transform { ordinal { value: [ \"a\", \"b\" ] } } }", "\"c\"");
        var values = Values("a", "b", "zz");
        int[] codes = [0, 1, 0, 1, 2, 2, 0];
        var perRow = Assert.Throws<FeatureException>(() => Transform(ordinal, "c", values, codes, coded: false));
        var coded = Assert.Throws<FeatureException>(() => Transform(ordinal, "c", values, codes, coded: true));
        Assert.Equal(4, coded.Row);
        Assert.Equal(perRow.Message, coded.Message);

        var number = View("feature { name: \"x\" transform { log1p {} } }", "\"x\"");
        values = Values("3", "1,5", "-1");
        codes = [0, 0, 2, 1];
        perRow = Assert.Throws<FeatureException>(() => Transform(number, "x", values, codes, coded: false));
        coded = Assert.Throws<FeatureException>(() => Transform(number, "x", values, codes, coded: true));
        Assert.Equal(2, coded.Row);
        Assert.Equal(perRow.Message, coded.Message);
    }

    [Fact]
    public void CodesAreCheckedAndAFieldTakesOneSetOfValuesPerRental()
    {
        var view = View("feature { name: \"c\" kind: TEXT transform { one_hot { value: [ \"a\", \"b\" ] } } }", "\"c\"");
        var values = Values("a", "b");
        using (var rows = view.RentRows(2))
        {
            Assert.Throws<InvalidOperationException>(() => rows.SetTextCode(0, 0, 0));
            rows.SetTextValues(0, values);
            rows.SetTextValues(0, values);
            Assert.Throws<ArgumentOutOfRangeException>(() => rows.SetTextCode(0, 0, 2));
            Assert.Throws<ArgumentOutOfRangeException>(() => rows.SetTextCode(0, 0, -1));
            Assert.Throws<InvalidOperationException>(() => rows.SetTextValues(0, Values("a", "b")));
        }
        // Rows given back forget their values: the next rental takes others.
        using (var rows = view.RentRows(1))
        {
            rows.SetTextValues(0, Values("b"));
            rows.SetTextCode(0, 0, 0);
            var tensors = view.Transform(rows, Now);
            Assert.Equal([0.0, 1.0], System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(tensors[0].Data).ToArray());
            tensors[0].Dispose();
        }
    }
}
