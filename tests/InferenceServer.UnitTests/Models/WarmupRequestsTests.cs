using InferenceServer.Core.Models;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Tensors;
using InferenceServer.UnitTests.TestDoubles;
using InferenceServer.UnitTests.Repository;
using static InferenceServer.UnitTests.Repository.TestConfigs;
using DataType = InferenceServer.Core.Tensors.DataType;
using WarmupInput = InferenceServer.Core.Repository.ModelWarmup.Types.Input;

namespace InferenceServer.UnitTests.Models;

/// <summary>Warm-up samples: their data, batch, count, and failures that name the sample.</summary>
public sealed class WarmupRequestsTests : IDisposable
{
    private readonly string _model = Path.Combine(Path.GetTempPath(), "inference-server-tests", Guid.NewGuid().ToString("N"), "m");

    public WarmupRequestsTests() => Directory.CreateDirectory(Path.Combine(_model, WarmupRequests.WarmupFolderName));

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(_model)!, recursive: true);

    private static ModelConfig Config(WarmupInput input, uint batchSize = 1, uint count = 1, int maxBatchSize = 4)
    {
        var config = TestConfigs.Config("m", maxBatchSize, [Input("INPUT0", DataType.Int32, [2])], [Output("OUTPUT0", DataType.Int32, [2])]);
        config.ModelWarmup.Add(new Core.Repository.ModelWarmup { Name = "s", BatchSize = batchSize, Count = count, Inputs = { ["INPUT0"] = input } });
        return config;
    }

    // A warm-up input of the given type and dims; zero data unless the caller picks another source.
    private static WarmupInput Sample(DataType type, long[] dims, string? file = null, bool random = false)
    {
        var input = new WarmupInput { DataType = type.ToConfigType() };
        input.Dims.Add(dims);
        if (file is not null)
        {
            input.InputDataFile = file;
        }
        else if (random)
        {
            input.RandomData = true;
        }
        else
        {
            input.ZeroData = true;
        }
        return input;
    }

    [Fact]
    public void File_data_is_replicated_along_the_batch_and_run_count_times()
    {
        File.WriteAllBytes(Path.Combine(_model, "warmup", "input0"), [7, 0, 0, 0, 9, 0, 0, 0]);
        var config = Config(Sample(DataType.Int32, [2], file: "input0"), batchSize: 3, count: 2);
        var instance = new AddOneInstance();

        using var warmup = WarmupRequests.Prepare(config, new WarmupSources(_model, 64L * 1024 * 1024, FollowLinks: false));
        Assert.Equal(2, warmup.Run(instance, CancellationToken.None));

        Assert.Equal([3L, 3L], instance.BatchSizes);
        Assert.All(instance.RowHeads, heads => Assert.Equal([7, 7, 7], heads));
    }

    [Fact]
    public void Zero_data_without_a_batch_dimension_has_the_configs_shape()
    {
        var config = Config(Sample(DataType.Int32, [2]), maxBatchSize: 0);
        var instance = new AddOneInstance();
        using var warmup = WarmupRequests.Prepare(config, new WarmupSources(_model, 64L * 1024 * 1024, FollowLinks: false));
        Assert.Equal(1, warmup.Run(instance, CancellationToken.None));
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
        var config = Config(Sample(DataType.Int32, [2], file: file));

        var error = Assert.Throws<ModelLoadException>(() => WarmupRequests.Prepare(config, new WarmupSources(_model, 64L * 1024 * 1024, FollowLinks: false)));
        Assert.Contains("warm-up sample 's' input 'INPUT0'", error.Message);
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void A_failing_run_fails_the_warmup_naming_the_sample()
    {
        var config = Config(Sample(DataType.Int32, [2], random: true));
        var instance = new AddOneInstance();
        instance.FailNextRun(new Core.Backends.BackendException("boom"));
        using var warmup = WarmupRequests.Prepare(config, new WarmupSources(_model, 64L * 1024 * 1024, FollowLinks: false));

        var error = Assert.Throws<ModelLoadException>(() => warmup.Run(instance, CancellationToken.None));
        Assert.Contains("warm-up sample 's' failed: boom", error.Message);
    }

    [Fact]
    public void A_sample_with_the_wrong_type_is_refused()
    {
        var config = Config(Sample(DataType.Fp32, [2]));
        var error = Assert.Throws<ModelLoadException>(() => WarmupRequests.Prepare(config, new WarmupSources(_model, 64L * 1024 * 1024, FollowLinks: false)));
        Assert.Contains("TYPE_FP32", error.Message);
    }
}
