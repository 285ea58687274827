using InferenceServer.Core.Backends;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Tensors;
using static InferenceServer.UnitTests.Repository.TestConfigs;
using DataType = InferenceServer.Core.Tensors.DataType;

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
        Assert.Equal(["x", "ids"], completed.Input.Select(i => i.Name));
        Assert.Equal(new long[] { 3 }, completed.Input[0].Dims);
        Assert.Equal(DataType.Fp32, completed.Input[0].ElementType());
        Assert.Equal(new long[] { -1 }, completed.Input[1].Dims);
        Assert.Equal(DataType.Int64, completed.Input[1].ElementType());
        var output = Assert.Single(completed.Output);
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
        Assert.Equal(new long[] { 1, 3 }, Assert.Single(completed.Input).Dims);
        Assert.Equal(new long[] { -1, 2 }, Assert.Single(completed.Output).Dims);
        Assert.Null(ConfigSignatureValidator.FindMismatch(completed, FixedShape));
    }

    [Fact]
    public void Platform_backend_and_one_cpu_instance_are_filled_in()
    {
        var completed = Complete(new ModelConfig { Name = "m" }, Batchable);

        Assert.Equal("onnxruntime_onnx", completed.Platform);
        Assert.Equal("onnxruntime", completed.Backend);
        var group = Assert.Single(completed.InstanceGroup);
        Assert.Equal("m", group.Name);
        Assert.Equal(1, group.Count);
        Assert.Equal(InstanceKind.Cpu, group.Kind.ToInstanceKind());
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
        var group = Group(ModelInstanceGroup.Types.Kind.Gpu, 3, 0);
        var batching = new ModelDynamicBatching { MaxQueueDelayMicroseconds = 500, PreferredBatchSize = { 4 } };
        var completed = Complete(new ModelConfig { Name = "m", InstanceGroup = { group }, DynamicBatching = batching }, Batchable);

        Assert.Equal([group], completed.InstanceGroup);
        Assert.Equal(batching, completed.DynamicBatching);
        Assert.Equal(8, completed.MaxBatchSize);
    }

    [Fact]
    public void Config_inputs_are_kept_and_say_the_model_does_not_batch()
    {
        // A config that names its inputs has said what it wants; max_batch_size 0 then means 0.
        ModelInput[] inputs = [Input("x", DataType.Fp32, [-1, 3]), Input("ids", DataType.Int64, [-1, -1])];
        var completed = Complete(TestConfigs.Config("m", 0, inputs, []), Batchable);

        Assert.Equal(0, completed.MaxBatchSize);
        Assert.Null(completed.DynamicBatching);
        Assert.Equal(inputs, completed.Input);
        Assert.Equal(new long[] { -1, 2 }, Assert.Single(completed.Output).Dims);
        Assert.Null(ConfigSignatureValidator.FindMismatch(completed, Batchable));
    }

    [Fact]
    public void Config_outputs_and_max_batch_size_are_kept_and_inputs_filled_to_match()
    {
        var output = Output("y", DataType.Fp32, [2]);
        output.LabelFilename = "labels.txt";
        var completed = Complete(TestConfigs.Config("m", 2, [], [output]), Batchable);

        Assert.Equal(2, completed.MaxBatchSize);
        Assert.Null(completed.DynamicBatching);
        Assert.Equal([output], completed.Output);
        Assert.Equal(new long[] { 3 }, completed.Input[0].Dims);
        Assert.Null(ConfigSignatureValidator.FindMismatch(completed, Batchable));
    }

    [Fact]
    public void A_max_batch_size_without_tensors_uses_it_instead_of_the_default()
    {
        var completed = Complete(new ModelConfig { Name = "m", MaxBatchSize = 16 }, Batchable);
        Assert.Equal(16, completed.MaxBatchSize);
        Assert.Equal(new long[] { 3 }, completed.Input[0].Dims);
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
        Assert.Empty(Assert.Single(completed.Input).Dims);
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
        Assert.Empty(config.Input);
        Assert.Empty(config.Output);
        Assert.Empty(config.InstanceGroup);
        Assert.Equal("", config.Platform);
        Assert.Null(config.DynamicBatching);

        // A config with parts of its own keeps them untouched too: the completion is a copy.
        var partial = TestConfigs.Config("m", 2, [], [Output("y", DataType.Fp32, [2])]);
        var before = partial.Clone();
        var completed = Complete(partial, Batchable);
        Assert.Equal(before, partial);
        Assert.NotSame(partial.Output[0], completed.Output[0]);
    }
}
