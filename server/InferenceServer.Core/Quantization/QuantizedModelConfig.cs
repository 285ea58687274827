using InferenceServer.Core.Backends;
using InferenceServer.Core.Models;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Repository.TextFormat;
using ConfigType = InferenceServer.Core.Repository.DataType;
using TensorType = InferenceServer.Core.Tensors.DataType;

namespace InferenceServer.Core.Quantization;

/// <summary>
/// The config of a variant written as a model of its own (<c>quantize --output-model NAME</c>): the parent's config as
/// its author wrote it, named NAME, with the inputs and outputs the variant takes and gives in FP16 declared
/// <c>TYPE_FP16</c> (fp16 with native FP16 inputs and outputs), and without the parent's <c>quantize*</c> parameters
/// (the variant is quantized already; quantizing it again at load would only be refused). Warm-up samples of an input
/// that became FP16 follow it when they are generated (zero or random data); one read from a file of FP32 values
/// cannot, and is refused by name.
/// </summary>
internal static class QuantizedModelConfig
{
    /// <summary>
    /// <paramref name="parent"/> made the config of model <paramref name="name"/>, whose model file has the inputs and
    /// outputs of <paramref name="variant"/>. <paramref name="notes"/> gets what was left out.
    /// </summary>
    public static ModelConfig For(ModelConfig parent, string name, ModelSignature variant, List<string>? notes = null)
    {
        var config = parent.Clone();
        config.Name = name;
        var halfInputs = new HashSet<string>(StringComparer.Ordinal);
        foreach (var input in config.Input)
        {
            if (BecomesHalf(input.DataType, variant.Inputs, input.Name))
            {
                input.DataType = ConfigType.TypeFp16;
                halfInputs.Add(input.Name);
            }
        }
        foreach (var output in config.Output)
        {
            if (BecomesHalf(output.DataType, variant.Outputs, output.Name))
            {
                output.DataType = ConfigType.TypeFp16;
            }
        }
        // An input the config leaves to auto-complete is FP16 there too; its warm-up samples follow it all the same.
        foreach (var input in variant.Inputs)
        {
            if (input.DataType == TensorType.Fp16)
            {
                halfInputs.Add(input.Name);
            }
        }
        foreach (var warmup in config.ModelWarmup)
        {
            foreach (var (input, sample) in warmup.Inputs)
            {
                if (!halfInputs.Contains(input) || sample.DataType != ConfigType.TypeFp32)
                {
                    continue;
                }
                if (sample.InputDataTypeCase == ModelWarmup.Types.Input.InputDataTypeOneofCase.InputDataFile)
                {
                    throw new QuantizationException(
                        $"warm-up sample '{warmup.Name}' reads input '{input}' as FP32 values from '{sample.InputDataFile}', but the variant takes FP16 there: "
                        + "write that file's values as FP16 (or use zero_data or random_data) before making a variant with FP16 inputs");
                }
                sample.DataType = ConfigType.TypeFp16;
            }
        }
        var dropped = config.Parameters.Keys.Where(k => k == QuantizeParameters.Method || k.StartsWith(QuantizeParameters.Method + "_", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToList();
        foreach (var key in dropped)
        {
            config.Parameters.Remove(key);
        }
        if (dropped.Count > 0)
        {
            notes?.Add($"the parent's load-time quantization parameters were left out of the new config ({string.Join(", ", dropped)}): the variant is quantized already");
        }
        return config;
    }

    /// <summary>The text of <paramref name="config"/> as written to the new model folder, with a header saying where it came from.</summary>
    public static string Text(ModelConfig config, string parentModel, long parentVersion, QuantizeSettings settings) =>
        TextFormatWriter.Write(config,
            $"{config.Name}: the {QuantizeSettings.MethodName(settings.Method)} variant of model '{parentModel}' version {parentVersion}"
            + (settings.Method == QuantizationMethod.Fp16 && !settings.KeepIoFp32 ? " with FP16 inputs and outputs" : "")
            + ", written by inference-server quantize\n(the parent's config with this name and the variant's types; comments of the parent's file are not kept)");

    /// <summary>
    /// The files beside the parent's config that the new config names: output label files and the warm-up folder, as
    /// paths relative to the model folder.
    /// </summary>
    public static IEnumerable<string> ReferencedFiles(ModelConfig config)
    {
        foreach (var output in config.Output)
        {
            if (output.LabelFilename.Length > 0)
            {
                yield return output.LabelFilename;
            }
        }
        if (config.ModelWarmup.Any(w => w.Inputs.Values.Any(i => i.InputDataTypeCase == ModelWarmup.Types.Input.InputDataTypeOneofCase.InputDataFile)))
        {
            yield return WarmupRequests.WarmupFolderName;
        }
    }

    private static bool BecomesHalf(ConfigType declared, IReadOnlyList<TensorInfo> variant, string name) =>
        declared == ConfigType.TypeFp32 && variant.FirstOrDefault(t => t.Name == name)?.DataType == TensorType.Fp16;
}
