using BenchmarkDotNet.Attributes;
using InferenceServer.Benchmarks.Features;
using InferenceServer.Core.Drift;
using InferenceServer.Core.Features;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Benchmarks.Drift;

/// <summary>
/// What drift monitoring adds to a request, without the server around it: the draw every request pays, and what a
/// sampled predict request pays to record its raw income records (5 numbers, 6 categories through the span lookup)
/// and its prediction into the live window, for 1 and 64 records. The window is written with no lock and no
/// allocation, so bytes allocated per operation must be 0.
/// </summary>
[MemoryDiagnoser]
public class DriftBenchmarks
{
    private DriftWindow _window = null!;
    private FeatureRows _rows = null!;
    private Tensor _probability = null!;
    private Tensor[] _outputs = null!;

    [Params(1, 64)]
    public int Rows { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var view = FeatureViewReader.Parse(File.ReadAllText(Path.Combine(RepositoryFolder.Root(), "models", "income", FeatureView.FileName)), "income");
        _rows = view.RentRows(Rows);
        for (var row = 0; row < Rows; row++)
        {
            var (numbers, texts) = SampleIncomeRecords.Records[row % SampleIncomeRecords.Records.Length];
            for (var i = 0; i < numbers.Length; i++)
            {
                view.TryGetField(SampleIncomeRecords.NumberFields[i], out var field);
                _rows.SetNumber(row, field, numbers[i]);
            }
            for (var i = 0; i < texts.Length; i++)
            {
                view.TryGetField(SampleIncomeRecords.TextFields[i], out var field);
                _rows.SetText(row, field, texts[i]);
            }
        }
        var probabilities = new float[Rows];
        for (var i = 0; i < Rows; i++)
        {
            probabilities[i] = i / (float)Rows;
        }
        _probability = Tensor.Copy("probability", DataType.Fp32, [Rows, 1], System.Runtime.InteropServices.MemoryMarshal.AsBytes(probabilities.AsSpan()));
        _outputs = [_probability];
        var builder = new ProfileBuilder("income", "1", TrainingProfile.ViewLevel);
        builder.AddRows(_rows);
        builder.AddOutputs(_outputs, batched: true);
        var plan = DriftPlan.Compile(builder.Build("benchmark"), "income/profile.json", view);
        _window = new DriftMonitor("income", "1", plan, new DriftOptions { SampleRate = 1, WindowSize = 4096, MaxRowsPerRequest = 64 }, batched: true).Window;
        // A full window, as a server's is after its first few thousand sampled rows: the report reads all of it.
        while (_window.FeatureRowsSeen < 4096)
        {
            Record();
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _rows.Dispose();
        _probability.Dispose();
    }

    [Benchmark(Baseline = true, Description = "every request: the sampling draw (rate 0.1)")]
    public bool Draw() => DriftMonitor.Draw(0.1);

    [Benchmark(Description = "a sampled predict request: its raw records and prediction into the window")]
    public long Record()
    {
        _window.RecordRows(_rows, 64);
        _window.RecordOutputs(_outputs, batched: true, 64);
        return _window.FeatureRowsSeen;
    }

    [Benchmark(Description = "reading the report (per scrape or GET /drift; 4096 rows, 12 series)")]
    public int Report() => _window.Report("income", "1", "live", 1).Features.Count;
}
