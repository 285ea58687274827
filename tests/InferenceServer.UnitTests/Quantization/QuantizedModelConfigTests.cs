using InferenceServer.Core.Backends;
using InferenceServer.Core.Quantization;
using InferenceServer.Core.Repository;
using ConfigType = InferenceServer.Core.Repository.DataType;
using TensorType = InferenceServer.Core.Tensors.DataType;

namespace InferenceServer.UnitTests.Quantization;

/// <summary>
/// The config of a variant written as a model of its own: the parent's, renamed, with FP16 where the variant takes or
/// gives FP16, warm-up samples following their input, load-time quantization left out, and the parent untouched.
/// </summary>
public sealed class QuantizedModelConfigTests
{
    private static ModelConfig Parent(string extra = "")
    {
        var config = new ModelConfig();
        ConfigTextReader.ReadText("""
            name: "income"
            max_batch_size: 8
            input [ { name: "features" data_type: TYPE_FP32 dims: [ 58 ] }, { name: "ids" data_type: TYPE_INT64 dims: [ 1 ] } ]
            output [ { name: "probability" data_type: TYPE_FP32 dims: [ 1 ] label_filename: "labels.txt" } ]
            parameters { key: "quantize" value { string_value: "int8-dynamic" } }
            parameters { key: "quantize_min_agreement" value { string_value: "0.99" } }
            parameters { key: "intra_op_thread_count" value { string_value: "1" } }
            """ + extra, "income/config.pbtxt", config);
        return config;
    }

    private static readonly ModelSignature HalfIo = new(
        [new TensorInfo("features", TensorType.Fp16, [-1, 58]), new TensorInfo("ids", TensorType.Int64, [-1, 1])],
        [new TensorInfo("probability", TensorType.Fp16, [-1, 1])]);

    private static readonly ModelSignature SameIo = new(
        [new TensorInfo("features", TensorType.Fp32, [-1, 58]), new TensorInfo("ids", TensorType.Int64, [-1, 1])],
        [new TensorInfo("probability", TensorType.Fp32, [-1, 1])]);

    [Fact]
    public void FP16_inputs_and_outputs_are_declared_FP16_and_the_rest_is_the_parents()
    {
        var parent = Parent();
        var before = parent.Clone();
        var notes = new List<string>();

        var config = QuantizedModelConfig.For(parent, "income_fp16", HalfIo, notes);

        Assert.Equal(before, parent);
        Assert.Equal("income_fp16", config.Name);
        Assert.Equal([ConfigType.TypeFp16, ConfigType.TypeInt64], config.Input.Select(i => i.DataType));
        Assert.Equal(ConfigType.TypeFp16, config.Output[0].DataType);
        Assert.Equal(8, config.MaxBatchSize);
        Assert.Equal(["intra_op_thread_count"], config.Parameters.Keys);
        Assert.Equal("the parent's load-time quantization parameters were left out of the new config (quantize, quantize_min_agreement): the variant is quantized already",
            Assert.Single(notes));
        Assert.Equal(["labels.txt"], QuantizedModelConfig.ReferencedFiles(config));
    }

    [Fact]
    public void A_variant_with_the_parents_types_keeps_them()
    {
        var config = QuantizedModelConfig.For(Parent(), "income_int8", SameIo);
        Assert.Equal([ConfigType.TypeFp32, ConfigType.TypeInt64], config.Input.Select(i => i.DataType));
        Assert.Equal(ConfigType.TypeFp32, config.Output[0].DataType);
    }

    [Fact]
    public void Generated_warm_up_samples_follow_their_input_and_one_read_from_a_file_is_refused()
    {
        var generated = QuantizedModelConfig.For(Parent("""
            model_warmup [ { name: "zeros" inputs { key: "features" value { data_type: TYPE_FP32 dims: [ 58 ] zero_data: true } }
                                            inputs { key: "ids" value { data_type: TYPE_INT64 dims: [ 1 ] random_data: true } } } ]
            """), "income_fp16", HalfIo);
        Assert.Equal(ConfigType.TypeFp16, generated.ModelWarmup[0].Inputs["features"].DataType);
        Assert.Equal(ConfigType.TypeInt64, generated.ModelWarmup[0].Inputs["ids"].DataType);
        Assert.DoesNotContain("warmup", QuantizedModelConfig.ReferencedFiles(generated));

        var fromFile = Parent("""
            model_warmup [ { name: "real" inputs { key: "features" value { data_type: TYPE_FP32 dims: [ 58 ] input_data_file: "features.bin" } } } ]
            """);
        var error = Assert.Throws<QuantizationException>(() => QuantizedModelConfig.For(fromFile, "income_fp16", HalfIo));
        Assert.Equal("warm-up sample 'real' reads input 'features' as FP32 values from 'features.bin', but the variant takes FP16 there: "
            + "write that file's values as FP16 (or use zero_data or random_data) before making a variant with FP16 inputs", error.Message);
        // With the parent's types the file still fits, and travels with the config.
        Assert.Contains("warmup", QuantizedModelConfig.ReferencedFiles(QuantizedModelConfig.For(fromFile, "income_int8", SameIo)));
    }

    [Fact]
    public void The_written_text_reads_back_as_the_config_with_a_header_naming_the_parent()
    {
        var config = QuantizedModelConfig.For(Parent(), "income_fp16", HalfIo);
        var text = QuantizedModelConfig.Text(config, "income", 1, new QuantizeSettings(QuantizationMethod.Fp16) { KeepIoFp32 = false });
        Assert.StartsWith("# income_fp16: the fp16 variant of model 'income' version 1 with FP16 inputs and outputs, written by inference-server quantize\n", text);
        var read = new ModelConfig();
        ConfigTextReader.ReadText(text, "income_fp16/config.pbtxt", read);
        Assert.Equal(config, read);
    }
}
