using InferenceServer.Core.Backends;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Tensors;
using static InferenceServer.UnitTests.Repository.TestConfigs;
using DataType = InferenceServer.Core.Tensors.DataType;

namespace InferenceServer.UnitTests.Repository.AutoComplete;

public sealed class ConfigSignatureValidatorTests
{
    private static readonly ModelSignature Model = new(
        [new TensorInfo("x", DataType.Fp32, [-1, 6]), new TensorInfo("mask", DataType.Bool, [-1, -1])],
        [new TensorInfo("y", DataType.Fp32, [-1, 2]), new TensorInfo("aux", DataType.Int64, [-1])]);

    private static ModelConfig Config(int maxBatchSize, ModelInput[]? inputs = null, ModelOutput[]? outputs = null) =>
        TestConfigs.Config("m", maxBatchSize, inputs ?? [Input("x", DataType.Fp32, [6]), Input("mask", DataType.Bool, [-1])], outputs ?? [Output("y", DataType.Fp32, [2])]);

    [Fact]
    public void A_matching_batching_config_passes_and_may_list_a_subset_of_outputs()
    {
        Assert.Null(ConfigSignatureValidator.FindMismatch(Config(4), Model));
    }

    [Fact]
    public void A_matching_non_batching_config_passes()
    {
        var config = Config(0, [Input("x", DataType.Fp32, [-1, 6]), Input("mask", DataType.Bool, [-1, -1])], [Output("aux", DataType.Int64, [-1])]);
        Assert.Null(ConfigSignatureValidator.FindMismatch(config, Model));
    }

    [Fact]
    public void A_type_mismatch_names_both_types()
    {
        var config = Config(4, [Input("x", DataType.Fp64, [6]), Input("mask", DataType.Bool, [-1])]);
        Assert.Equal("config input 'x' has data_type TYPE_FP64 but the model's is TYPE_FP32", ConfigSignatureValidator.FindMismatch(config, Model));
    }

    [Fact]
    public void An_output_type_mismatch_is_found_too()
    {
        var config = Config(4, outputs: [Output("aux", DataType.Int32, [])]);
        Assert.Equal("config output 'aux' has data_type TYPE_INT32 but the model's is TYPE_INT64", ConfigSignatureValidator.FindMismatch(config, Model));
    }

    [Fact]
    public void An_unknown_input_lists_the_models_inputs()
    {
        var config = Config(4, [Input("x", DataType.Fp32, [6]), Input("mask", DataType.Bool, [-1]), Input("extra", DataType.Fp32, [1])]);
        Assert.Equal("config input 'extra' is not an input of the model; the model's inputs are: x, mask", ConfigSignatureValidator.FindMismatch(config, Model));
    }

    [Fact]
    public void An_unknown_output_lists_the_models_outputs()
    {
        var config = Config(4, outputs: [Output("z", DataType.Fp32, [2])]);
        Assert.Equal("config output 'z' is not an output of the model; the model's outputs are: y, aux", ConfigSignatureValidator.FindMismatch(config, Model));
    }

    [Fact]
    public void A_model_input_missing_from_the_config_is_named_with_its_type_and_shape()
    {
        var config = Config(4, [Input("x", DataType.Fp32, [6])]);
        Assert.Equal("model input 'mask' (TYPE_BOOL [-1,-1]) is missing from the config", ConfigSignatureValidator.FindMismatch(config, Model));
    }

    [Fact]
    public void Batching_claimed_on_a_model_with_a_fixed_first_dimension_is_refused()
    {
        var model = new ModelSignature([new TensorInfo("x", DataType.Fp32, [1, 6])], [new TensorInfo("y", DataType.Fp32, [-1, 2])]);
        var config = Config(4, [Input("x", DataType.Fp32, [6])]);
        Assert.Equal(
            "config max_batch_size is 4 but model input 'x' has shape [1,6] with no dynamic batch dimension; set max_batch_size: 0",
            ConfigSignatureValidator.FindMismatch(config, model));
    }

    [Fact]
    public void Batching_claimed_on_a_model_whose_output_has_no_batch_dimension_is_refused()
    {
        var config = Config(4, outputs: [Output("aux", DataType.Int64, [])]);
        var model = Model with { Outputs = [new TensorInfo("aux", DataType.Int64, [7])] };
        Assert.Equal(
            "config max_batch_size is 4 but model output 'aux' has shape [7] with no dynamic batch dimension; set max_batch_size: 0",
            ConfigSignatureValidator.FindMismatch(config, model));
    }

    [Fact]
    public void A_compatible_reshape_passes()
    {
        var config = Config(4, [Input("x", DataType.Fp32, [3, 2], reshape: [6]), Input("mask", DataType.Bool, [-1])]);
        Assert.Null(ConfigSignatureValidator.FindMismatch(config, Model));
    }

    [Fact]
    public void An_incompatible_reshape_is_named_as_the_reshape()
    {
        var config = Config(4, [Input("x", DataType.Fp32, [6], reshape: [5]), Input("mask", DataType.Bool, [-1])]);
        Assert.Equal(
            "config input 'x' has reshape [5] (plus the batch dimension) but the model's shape is [-1,6]",
            ConfigSignatureValidator.FindMismatch(config, Model));
    }

    [Fact]
    public void Dims_that_would_only_fit_after_a_reshape_are_refused()
    {
        var config = Config(4, [Input("x", DataType.Fp32, [3, 2]), Input("mask", DataType.Bool, [-1])]);
        Assert.Equal(
            "config input 'x' has dims [3,2] (plus the batch dimension) but the model's shape is [-1,6]",
            ConfigSignatureValidator.FindMismatch(config, Model));
    }

    [Fact]
    public void A_model_minus_one_takes_a_fixed_config_dimension()
    {
        var config = Config(4, [Input("x", DataType.Fp32, [6]), Input("mask", DataType.Bool, [128])]);
        Assert.Null(ConfigSignatureValidator.FindMismatch(config, Model));
    }

    [Fact]
    public void A_config_minus_one_does_not_fit_a_fixed_model_dimension()
    {
        var config = Config(4, [Input("x", DataType.Fp32, [-1]), Input("mask", DataType.Bool, [-1])]);
        Assert.Equal(
            "config input 'x' has dims [-1] (plus the batch dimension) but the model's shape is [-1,6]",
            ConfigSignatureValidator.FindMismatch(config, Model));
    }

    [Fact]
    public void A_different_rank_is_refused_without_batching()
    {
        var config = Config(0, [Input("x", DataType.Fp32, [6]), Input("mask", DataType.Bool, [-1, -1])], []);
        Assert.Equal("config input 'x' has dims [6] but the model's shape is [-1,6]", ConfigSignatureValidator.FindMismatch(config, Model));
    }

    [Fact]
    public void A_non_batching_config_may_fix_the_leading_dimension()
    {
        var config = Config(0, [Input("x", DataType.Fp32, [1, 6]), Input("mask", DataType.Bool, [1, 8])], [Output("y", DataType.Fp32, [1, 2])]);
        Assert.Null(ConfigSignatureValidator.FindMismatch(config, Model));
    }
}
