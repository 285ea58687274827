using InferenceServer.Core.Drift;
using InferenceServer.Core.Tensors;

namespace InferenceServer.UnitTests.Drift;

/// <summary>
/// The live window and a scored batch against a profile built from tensor columns: the same distribution shows no
/// drift, a shifted column shows significant drift on that column alone, and many threads write the ring at once
/// without losing its bound.
/// </summary>
public sealed class DriftWindowTests
{
    private static Tensor Rows(string name, double[,] values)
    {
        var rows = values.GetLength(0);
        var width = values.GetLength(1);
        var data = new float[rows * width];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < width; c++)
            {
                data[r * width + c] = (float)values[r, c];
            }
        }
        return Tensor.Copy(name, DataType.Fp32, [rows, width], System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()));
    }

    private static double[,] Sample(Random random, int rows, double shift)
    {
        var values = new double[rows, 2];
        for (var r = 0; r < rows; r++)
        {
            values[r, 0] = random.NextDouble() * 10;
            values[r, 1] = random.NextDouble() * 10 + shift;
        }
        return values;
    }

    private static TrainingProfile Train()
    {
        var builder = new ProfileBuilder("m", "1", TrainingProfile.TensorLevel);
        var random = new Random(1);
        for (var i = 0; i < 20; i++)
        {
            using var input = Rows("input", Sample(random, 500, shift: 0));
            builder.AddInputs([input], batched: true);
        }
        return builder.Build("train");
    }

    [Fact]
    public void Tensor_columns_are_profiled_as_input_column_features()
    {
        var profile = Train();

        Assert.Equal(["input[0]", "input[1]"], profile.Features.Select(f => f.Name));
        Assert.Equal(10_000, profile.Rows);
        Assert.All(profile.Features, f => Assert.Equal(10, f.Proportions.Length));
    }

    [Fact]
    public void A_batch_like_the_training_data_shows_no_drift_and_a_shifted_column_shows_significant_drift_alone()
    {
        var profile = Train();
        var same = DriftBatch.Create(profile, "profile.json", view: null);
        var shifted = DriftBatch.Create(profile, "profile.json", view: null);
        var random = new Random(2);
        for (var i = 0; i < 10; i++)
        {
            using var like = Rows("input", Sample(random, 300, shift: 0));
            same.RecordInputs([like], batched: true);
            using var moved = Rows("input", Sample(random, 300, shift: 5));
            shifted.RecordInputs([moved], batched: true);
        }

        var calm = same.Report("m", "1", "same.csv", 1);
        var moved2 = shifted.Report("m", "1", "shifted.csv", 1);

        Assert.Equal("none", calm.Drift);
        Assert.All(calm.Features, f => Assert.True(f.Psi < 0.05, $"{f.Name}: PSI {f.Psi}"));
        Assert.All(calm.Features, f => Assert.True(f.Ks < 0.05, $"{f.Name}: KS {f.Ks}"));
        Assert.Equal(3000, calm.RowsSampled);
        Assert.Equal("none", moved2.Features[0].Drift);
        Assert.Equal("significant", moved2.Features[1].Drift);
        // Half the shifted values lie above the training maximum: the CDFs differ by 0.5 there.
        Assert.InRange(moved2.Features[1].Ks!.Value, 0.45, 0.55);
        Assert.Equal("significant", moved2.Drift);
    }

    [Fact]
    public void A_batch_past_its_capacity_keeps_a_uniform_sample_of_every_row_offered()
    {
        // 50,000 rows into a reservoir of 2,000: the first half like training, the second with column 1 shifted by 5.
        // A uniform sample holds half of each, so column 1's CDF is 0.25 below training's from 5 to 10 (KS 0.25); one
        // that favoured early rows would show no drift, one that favoured late rows KS 0.5.
        var profile = Train();
        var batch = DriftBatch.Create(profile, "profile.json", view: null, capacity: 2000);
        var again = DriftBatch.Create(profile, "profile.json", view: null, capacity: 2000);
        var random = new Random(3);
        for (var i = 0; i < 100; i++)
        {
            using var rows = Rows("input", Sample(random, 500, shift: i < 50 ? 0 : 5));
            batch.RecordInputs([rows], batched: true);
            again.RecordInputs([rows], batched: true);
        }

        var report = batch.Report("m", "1", "file.csv", 1);

        Assert.Equal(50_000, report.RowsSampled);
        Assert.All(report.Features, f => Assert.Equal(2000, f.Samples));
        Assert.Equal("none", report.Features[0].Drift);
        Assert.InRange(report.Features[1].Ks!.Value, 0.2, 0.3);
        // Seeded: the same rows give the same report.
        Assert.Equal(report.Features.Select(f => f.Psi), again.Report("m", "1", "file.csv", 1).Features.Select(f => f.Psi));
    }

    [Fact]
    public void Writers_on_many_threads_fill_the_ring_up_to_its_size_and_no_further()
    {
        var profile = Train();
        var monitor = new DriftMonitor("m", "1", DriftPlanFor(profile), new DriftOptions { WindowSize = 256, SampleRate = 1 }, batched: true);
        Parallel.For(0, 64, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            using var input = Rows("input", Sample(new Random(i), 10, shift: 0));
            monitor.Window.RecordInputs([input], batched: true);
        });

        var report = monitor.Report();

        Assert.Equal(640, report.RowsSampled);
        Assert.Equal(256, report.WindowSize);
        Assert.All(report.Features, f => Assert.Equal(256, f.Samples));
    }

    private static DriftPlan DriftPlanFor(TrainingProfile profile) => DriftPlan.Compile(profile, "profile.json", view: null);
}
