using InferenceServer.Core.Models;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Tensors;
using InferenceServer.UnitTests.TestDoubles;

namespace InferenceServer.UnitTests.Models;

/// <summary>Warm-up samples: their data, batch, count, and failures that name the sample.</summary>
public sealed class ModelWarmupTests : IDisposable
{
    private readonly string _model = Path.Combine(Path.GetTempPath(), "inference-server-tests", Guid.NewGuid().ToString("N"), "m");

    public ModelWarmupTests() => Directory.CreateDirectory(Path.Combine(_model, ModelWarmup.WarmupFolderName));

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(_model)!, recursive: true);

    private static ModelConfig Config(WarmupInputConfig input, int batchSize = 1, int count = 1, int maxBatchSize = 4) => new()
    {
        Name = "m",
        MaxBatchSize = maxBatchSize,
        Inputs = [new TensorConfig { Name = "INPUT0", DataType = DataType.Int32, Dims = [2] }],
        Outputs = [new TensorConfig { Name = "OUTPUT0", DataType = DataType.Int32, Dims = [2] }],
        ModelWarmup = [new ModelWarmupConfig { Name = "s", BatchSize = batchSize, Count = count, Inputs = new Dictionary<string, WarmupInputConfig> { ["INPUT0"] = input } }],
    };

    [Fact]
    public void File_data_is_replicated_along_the_batch_and_run_count_times()
    {
        File.WriteAllBytes(Path.Combine(_model, "warmup", "input0"), [7, 0, 0, 0, 9, 0, 0, 0]);
        var config = Config(new WarmupInputConfig { DataType = DataType.Int32, Dims = [2], Source = WarmupDataSource.File, InputDataFile = "input0" }, batchSize: 3, count: 2);
        var instance = new AddOneInstance();

        using var warmup = ModelWarmup.Prepare(config, _model);
        Assert.Equal(2, warmup.Run(instance));

        Assert.Equal([3L, 3L], instance.BatchSizes);
        Assert.All(instance.RowHeads, heads => Assert.Equal([7, 7, 7], heads));
    }

    [Fact]
    public void Zero_data_without_a_batch_dimension_has_the_configs_shape()
    {
        var config = Config(new WarmupInputConfig { DataType = DataType.Int32, Dims = [2] }, maxBatchSize: 0);
        var instance = new AddOneInstance();
        using var warmup = ModelWarmup.Prepare(config, _model);
        Assert.Equal(1, warmup.Run(instance));
        // Without a batch dimension the "batch" the fake records is the first (only) dimension.
        Assert.Equal([2L], instance.BatchSizes);
        Assert.Equal([0], instance.RowHeads.Single()[..1]);
    }

    [Theory]
    [InlineData("missing", "cannot read")]
    [InlineData("short", "has 4 bytes but TYPE_INT32 [2] needs 8")]
    [InlineData("../outside", "outside the model's warmup folder")]
    public void Bad_data_files_fail_naming_the_sample_and_input(string file, string reason)
    {
        File.WriteAllBytes(Path.Combine(_model, "warmup", "short"), [1, 0, 0, 0]);
        File.WriteAllBytes(Path.Combine(_model, "outside"), [1, 0, 0, 0, 2, 0, 0, 0]);
        var config = Config(new WarmupInputConfig { DataType = DataType.Int32, Dims = [2], Source = WarmupDataSource.File, InputDataFile = file });

        var error = Assert.Throws<ModelLoadException>(() => ModelWarmup.Prepare(config, _model));
        Assert.Contains("warm-up sample 's' input 'INPUT0'", error.Message);
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void A_failing_run_fails_the_warmup_naming_the_sample()
    {
        var config = Config(new WarmupInputConfig { DataType = DataType.Int32, Dims = [2], Source = WarmupDataSource.Random });
        var instance = new AddOneInstance();
        instance.FailNextRun(new Core.Backends.BackendException("boom"));
        using var warmup = ModelWarmup.Prepare(config, _model);

        var error = Assert.Throws<ModelLoadException>(() => warmup.Run(instance));
        Assert.Contains("warm-up sample 's' failed: boom", error.Message);
    }

    [Fact]
    public void A_sample_with_the_wrong_type_is_refused()
    {
        var config = Config(new WarmupInputConfig { DataType = DataType.Fp32, Dims = [2] });
        var error = Assert.Throws<ModelLoadException>(() => ModelWarmup.Prepare(config, _model));
        Assert.Contains("TYPE_FP32", error.Message);
    }
}
