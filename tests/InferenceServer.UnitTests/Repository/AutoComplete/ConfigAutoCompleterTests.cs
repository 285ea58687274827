using InferenceServer.Core.Backends;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Tensors;

namespace InferenceServer.UnitTests.Repository.AutoComplete;

public sealed class ConfigAutoCompleterTests
{
    private static readonly FakeBackend Backend = new();

    private static readonly ModelSignature Batchable = new(
        [new TensorInfo("x", DataType.Fp32, [-1, 3]), new TensorInfo("ids", DataType.Int64, [-1, -1])],
        [new TensorInfo("y", DataType.Fp32, [-1, 2])]);

    private static readonly ModelSignature FixedShape = new(
        [new TensorInfo("x", DataType.Fp32, [1, 3])],
        [new TensorInfo("y", DataType.Fp32, [-1, 2])]);

    private static ModelConfig Complete(ModelConfig config, ModelSignature signature) =>
        ConfigAutoCompleter.Complete(config, signature, Backend, defaultMaxBatchSize: 8);

    [Fact]
    public void An_empty_config_of_a_batchable_model_gets_batching_and_dims_without_the_batch_dimension()
    {
        var completed = Complete(new ModelConfig { Name = "m" }, Batchable);

        Assert.Equal(8, completed.MaxBatchSize);
        Assert.NotNull(completed.DynamicBatching);
        Assert.Equal(["x", "ids"], completed.Inputs.Select(i => i.Name));
        Assert.Equal(new long[] { 3 }, completed.Inputs[0].Dims);
        Assert.Equal(DataType.Fp32, completed.Inputs[0].DataType);
        Assert.Equal(new long[] { -1 }, completed.Inputs[1].Dims);
        Assert.Equal(DataType.Int64, completed.Inputs[1].DataType);
        var output = Assert.Single(completed.Outputs);
        Assert.Equal("y", output.Name);
        Assert.Equal(new long[] { 2 }, output.Dims);
        Assert.Null(ConfigSignatureValidator.FindMismatch(completed, Batchable));
    }

    [Fact]
    public void An_empty_config_of_a_non_batching_model_keeps_full_shapes()
    {
        var completed = Complete(new ModelConfig { Name = "m" }, FixedShape);

        Assert.Equal(0, completed.MaxBatchSize);
        Assert.Null(completed.DynamicBatching);
        Assert.Equal(new long[] { 1, 3 }, Assert.Single(completed.Inputs).Dims);
        Assert.Equal(new long[] { -1, 2 }, Assert.Single(completed.Outputs).Dims);
        Assert.Null(ConfigSignatureValidator.FindMismatch(completed, FixedShape));
    }

    [Fact]
    public void Platform_backend_and_one_cpu_instance_are_filled_in()
    {
        var completed = Complete(new ModelConfig { Name = "m" }, Batchable);

        Assert.Equal("onnxruntime_onnx", completed.Platform);
        Assert.Equal("onnxruntime", completed.Backend);
        var group = Assert.Single(completed.InstanceGroups);
        Assert.Equal("m", group.Name);
        Assert.Equal(1, group.Count);
        Assert.Equal(InstanceKind.Cpu, group.Kind);
    }

    [Fact]
    public void A_given_platform_gets_the_backend_and_a_given_backend_the_platform()
    {
        var withPlatform = Complete(new ModelConfig { Name = "m", Platform = "custom_platform" }, Batchable);
        Assert.Equal("custom_platform", withPlatform.Platform);
        Assert.Equal("onnxruntime", withPlatform.Backend);

        var withBackend = Complete(new ModelConfig { Name = "m", Backend = "custom" }, Batchable);
        Assert.Equal("onnxruntime_onnx", withBackend.Platform);
        Assert.Equal("custom", withBackend.Backend);

        var withBoth = Complete(new ModelConfig { Name = "m", Platform = "p", Backend = "b" }, Batchable);
        Assert.Equal(("p", "b"), (withBoth.Platform, withBoth.Backend));
    }

    [Fact]
    public void Given_instance_groups_and_dynamic_batching_are_kept()
    {
        var groups = new[] { new InstanceGroupConfig { Count = 3, Kind = InstanceKind.Gpu, Gpus = [0] } };
        var batching = new DynamicBatchingConfig { MaxQueueDelayMicroseconds = 500, PreferredBatchSizes = [4] };
        var completed = Complete(new ModelConfig { Name = "m", InstanceGroups = groups, DynamicBatching = batching }, Batchable);

        Assert.Same(groups, completed.InstanceGroups);
        Assert.Same(batching, completed.DynamicBatching);
        Assert.Equal(8, completed.MaxBatchSize);
    }

    [Fact]
    public void Config_inputs_are_kept_and_say_the_model_does_not_batch()
    {
        // A config that names its inputs has said what it wants; max_batch_size 0 then means 0.
        var inputs = new[]
        {
            new TensorConfig { Name = "x", DataType = DataType.Fp32, Dims = [-1, 3] },
            new TensorConfig { Name = "ids", DataType = DataType.Int64, Dims = [-1, -1] },
        };
        var completed = Complete(new ModelConfig { Name = "m", Inputs = inputs }, Batchable);

        Assert.Equal(0, completed.MaxBatchSize);
        Assert.Null(completed.DynamicBatching);
        Assert.Same(inputs, completed.Inputs);
        Assert.Equal(new long[] { -1, 2 }, Assert.Single(completed.Outputs).Dims);
        Assert.Null(ConfigSignatureValidator.FindMismatch(completed, Batchable));
    }

    [Fact]
    public void Config_outputs_and_max_batch_size_are_kept_and_inputs_filled_to_match()
    {
        var outputs = new[] { new TensorConfig { Name = "y", DataType = DataType.Fp32, Dims = [2], LabelFilename = "labels.txt" } };
        var completed = Complete(new ModelConfig { Name = "m", MaxBatchSize = 2, Outputs = outputs }, Batchable);

        Assert.Equal(2, completed.MaxBatchSize);
        Assert.Null(completed.DynamicBatching);
        Assert.Same(outputs, completed.Outputs);
        Assert.Equal(new long[] { 3 }, completed.Inputs[0].Dims);
        Assert.Null(ConfigSignatureValidator.FindMismatch(completed, Batchable));
    }

    [Fact]
    public void A_max_batch_size_without_tensors_uses_it_instead_of_the_default()
    {
        var completed = Complete(new ModelConfig { Name = "m", MaxBatchSize = 16 }, Batchable);
        Assert.Equal(16, completed.MaxBatchSize);
        Assert.Equal(new long[] { 3 }, completed.Inputs[0].Dims);
    }

    [Fact]
    public void Claimed_batching_on_a_fixed_shape_model_is_left_for_the_validator_to_refuse()
    {
        var completed = Complete(new ModelConfig { Name = "m", MaxBatchSize = 4 }, FixedShape);
        Assert.Equal(
            "config max_batch_size is 4 but model input 'x' has shape [1,3] with no dynamic batch dimension; set max_batch_size: 0",
            ConfigSignatureValidator.FindMismatch(completed, FixedShape));
    }

    [Fact]
    public void Claimed_batching_on_a_model_with_a_scalar_is_left_for_the_validator_to_refuse()
    {
        var scalar = new ModelSignature([new TensorInfo("x", DataType.Fp32, [])], [new TensorInfo("y", DataType.Fp32, [])]);
        var completed = Complete(new ModelConfig { Name = "m", MaxBatchSize = 4 }, scalar);
        Assert.Equal(
            "config max_batch_size is 4 but model input 'x' has shape [] with no dynamic batch dimension; set max_batch_size: 0",
            ConfigSignatureValidator.FindMismatch(completed, scalar));
    }

    [Fact]
    public void A_scalar_model_without_batching_completes_with_scalars()
    {
        var scalar = new ModelSignature([new TensorInfo("x", DataType.Fp32, [])], [new TensorInfo("y", DataType.Fp32, [])]);
        var completed = Complete(new ModelConfig { Name = "m" }, scalar);
        Assert.Equal(0, completed.MaxBatchSize);
        Assert.Empty(Assert.Single(completed.Inputs).Dims);
        Assert.Null(ConfigSignatureValidator.FindMismatch(completed, scalar));
    }

    [Fact]
    public void Can_batch_needs_a_leading_minus_one_on_every_input_and_output()
    {
        Assert.True(ConfigAutoCompleter.CanBatch(Batchable));
        Assert.False(ConfigAutoCompleter.CanBatch(FixedShape));
        Assert.False(ConfigAutoCompleter.CanBatch(new ModelSignature(
            [new TensorInfo("x", DataType.Fp32, [-1, 3])], [new TensorInfo("y", DataType.Fp32, [1, 2])])));
        Assert.False(ConfigAutoCompleter.CanBatch(new ModelSignature(
            [new TensorInfo("x", DataType.Fp32, [])], [new TensorInfo("y", DataType.Fp32, [-1])])));
        Assert.False(ConfigAutoCompleter.CanBatch(new ModelSignature([], [new TensorInfo("y", DataType.Fp32, [-1])])));
        Assert.True(ConfigAutoCompleter.CanBatch(new ModelSignature([new TensorInfo("x", DataType.Fp32, [-1])], [])));
    }

    [Fact]
    public void Completing_leaves_the_given_config_unchanged()
    {
        var config = new ModelConfig { Name = "m" };
        _ = Complete(config, Batchable);
        Assert.Equal(0, config.MaxBatchSize);
        Assert.Empty(config.Inputs);
        Assert.Empty(config.Outputs);
        Assert.Empty(config.InstanceGroups);
        Assert.Equal("", config.Platform);
        Assert.Null(config.DynamicBatching);
    }
}
