using System.Text;
using BenchmarkDotNet.Attributes;
using InferenceServer.Core.Features;

namespace InferenceServer.Benchmarks.Features;

/// <summary>
/// What income's feature view costs a batch: raw UCI-Adult records (5 numbers, 6 categories) into the 58-float input,
/// from request values (numbers and text), from request values whose text comes as codes into each field's distinct
/// values (what the batch scorer hands over for a Parquet column: each distinct value encoded once per call), and from
/// store values (UTF-8 bytes as the sidecar answers them: numbers parsed, text decoded on the stack and looked up by
/// span), for 1, 64 and 256 (the batch scorer's batch) records. The rule: no allocation per
/// row, so bytes allocated per operation must be the same for 1 record and for 64 (the tensor's object, its shape and
/// the list of outputs: per call, not per row).
/// </summary>
[MemoryDiagnoser]
public class FeatureViewBenchmarks
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);

    private FeatureView _view = null!;
    private int[] _numberFields = null!;
    private int[] _textFields = null!;
    // Per row, per store field: the value as the store holds it.
    private byte[][][] _stored = null!;
    // Per text field: its distinct values in the sample, and per row the code of its value.
    private ReadOnlyMemory<char>[][] _textValues = null!;
    private int[][] _textCodes = null!;

    [Params(1, 64, 256)]
    public int Rows { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _view = FeatureViewReader.Parse(File.ReadAllText(Path.Combine(RepositoryFolder.Root(), "models", "income", FeatureView.FileName)), "income");
        _numberFields = [.. SampleIncomeRecords.NumberFields.Select(Field)];
        _textFields = [.. SampleIncomeRecords.TextFields.Select(Field)];
        _textValues = new ReadOnlyMemory<char>[_textFields.Length][];
        _textCodes = new int[_textFields.Length][];
        for (var i = 0; i < _textFields.Length; i++)
        {
            var texts = Enumerable.Range(0, Rows).Select(row => SampleIncomeRecords.Records[row % SampleIncomeRecords.Records.Length].Texts[i]).ToArray();
            var distinct = texts.Distinct(StringComparer.Ordinal).ToArray();
            _textValues[i] = [.. distinct.Select(t => t.AsMemory())];
            _textCodes[i] = [.. texts.Select(t => Array.IndexOf(distinct, t))];
        }
        _stored = new byte[Rows][][];
        for (var row = 0; row < Rows; row++)
        {
            var (numbers, texts) = SampleIncomeRecords.Records[row % SampleIncomeRecords.Records.Length];
            _stored[row] = new byte[_view.StoreFields.Count][];
            for (var s = 0; s < _view.StoreFields.Count; s++)
            {
                var name = _view.StoreFields[s];
                var n = Array.IndexOf(SampleIncomeRecords.NumberFields, name);
                _stored[row][s] = Encoding.UTF8.GetBytes(n >= 0 ? numbers[n].ToString(System.Globalization.CultureInfo.InvariantCulture) : texts[Array.IndexOf(SampleIncomeRecords.TextFields, name)]);
            }
        }
    }

    [Benchmark(Baseline = true, Description = "income records from the request → [n, 58] FP32")]
    public int FromRequest()
    {
        using var rows = _view.RentRows(Rows);
        for (var row = 0; row < Rows; row++)
        {
            var (numbers, texts) = SampleIncomeRecords.Records[row % SampleIncomeRecords.Records.Length];
            for (var i = 0; i < numbers.Length; i++)
            {
                rows.SetNumber(row, _numberFields[i], numbers[i]);
            }
            for (var i = 0; i < texts.Length; i++)
            {
                rows.SetText(row, _textFields[i], texts[i]);
            }
        }
        return Transform(rows);
    }

    [Benchmark(Description = "income records from the request, text as codes → [n, 58] FP32")]
    public int FromRequestCoded()
    {
        using var rows = _view.RentRows(Rows);
        for (var i = 0; i < _textFields.Length; i++)
        {
            rows.SetTextValues(_textFields[i], _textValues[i]);
        }
        for (var row = 0; row < Rows; row++)
        {
            var numbers = SampleIncomeRecords.Records[row % SampleIncomeRecords.Records.Length].Numbers;
            for (var i = 0; i < numbers.Length; i++)
            {
                rows.SetNumber(row, _numberFields[i], numbers[i]);
            }
            for (var i = 0; i < _textFields.Length; i++)
            {
                rows.SetTextCode(row, _textFields[i], _textCodes[i][row]);
            }
        }
        return Transform(rows);
    }

    [Benchmark(Description = "income records from store bytes → [n, 58] FP32")]
    public int FromStore()
    {
        using var rows = _view.RentRows(Rows);
        var storedAt = Now.ToUnixTimeMilliseconds() - 60_000;
        for (var row = 0; row < Rows; row++)
        {
            rows.SetStoredAt(row, storedAt);
            var values = _stored[row];
            for (var s = 0; s < values.Length; s++)
            {
                rows.SetStoreValue(row, s, values[s]);
            }
        }
        return Transform(rows);
    }

    private int Transform(FeatureRows rows)
    {
        var tensors = _view.Transform(rows, Now);
        var bytes = 0;
        foreach (var tensor in tensors)
        {
            bytes += tensor.ByteLength;
            tensor.Dispose();
        }
        return bytes;
    }

    private int Field(string name) => _view.TryGetField(name, out var index) ? index : throw new InvalidOperationException($"income's view has no field '{name}'");
}
