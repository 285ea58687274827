using System.Globalization;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Inference;
using Microsoft.ML.OnnxRuntime;

namespace InferenceServer.OnnxRuntime;

/// <summary>
/// Chooses where a session executes, as Triton's ONNX Runtime backend does: KIND_CPU on the CPU
/// provider; KIND_GPU on the CUDA provider of the instance's device, with TensorRT in front of it
/// when the config's <c>gpu_execution_accelerator</c> names <c>tensorrt</c>; KIND_AUTO on the GPU
/// when this build has CUDA and a GPU is visible, else on the CPU. A KIND_GPU instance that cannot
/// have a GPU fails to load with the reason instead of quietly running on the CPU.
/// </summary>
internal static class OrtExecutionProviders
{
    public const string CpuProvider = "CPUExecutionProvider";
    public const string CudaProvider = "CUDAExecutionProvider";
    public const string TensorRtProvider = "TensorrtExecutionProvider";
    public const string TensorRtAccelerator = "tensorrt";

    /// <summary>True when the instance should try the GPU: KIND_GPU always (to fail with a reason), KIND_AUTO when one can be had.</summary>
    public static bool WantsGpu(InstanceOptions options, OrtRuntime runtime) => options.Kind switch
    {
        InstanceKind.Cpu => false,
        InstanceKind.Gpu => true,
        InstanceKind.Auto => GpuUnavailableReason(runtime) is null && VisibleGpus().Count > 0,
        _ => throw new BackendException($"unknown instance kind {options.Kind}", InferenceErrorKind.InvalidArgument),
    };

    /// <summary>Why this build cannot run on a GPU at all, or null when it has the CUDA provider.</summary>
    public static string? GpuUnavailableReason(OrtRuntime runtime)
    {
        if (OrtRuntime.Flavor != OrtRuntime.GpuFlavor)
        {
            return $"this server carries the {OrtRuntime.Flavor} build of ONNX Runtime {runtime.Version}, whose execution providers are " +
                   $"{string.Join(", ", runtime.Providers)}, so it has no CUDA; build or publish it with -p:OrtFlavor=gpu for CUDA";
        }
        if (!runtime.HasProvider(CudaProvider))
        {
            return $"its ONNX Runtime {runtime.Version} ({OrtRuntime.Flavor} build) offers {string.Join(", ", runtime.Providers)} but no {CudaProvider}";
        }
        return null;
    }

    /// <summary>Appends TensorRT (when <paramref name="tensorRt"/> holds its options) and CUDA for <paramref name="device"/>.</summary>
    public static void AttachGpu(SessionOptions sessionOptions, int device, Dictionary<string, string>? tensorRt)
    {
        if (tensorRt is not null)
        {
            using var providerOptions = new OrtTensorRTProviderOptions();
            providerOptions.UpdateOptions(tensorRt);
            sessionOptions.AppendExecutionProvider_Tensorrt(providerOptions);
        }
        sessionOptions.AppendExecutionProvider_CUDA(device);
    }

    public static string DescribeGpu(int device, Dictionary<string, string>? tensorRt) =>
        (tensorRt is null ? CudaProvider : $"{TensorRtProvider}, {CudaProvider}") + $" (device {device.ToString(CultureInfo.InvariantCulture)})";

    /// <summary>The error a KIND_GPU instance fails with when the GPU build could not start CUDA: what is visible and ONNX Runtime's own reason.</summary>
    public static BackendException CudaFailed(int device, BackendException cause) =>
        new($"KIND_GPU requested (device {device}) but ONNX Runtime could not start CUDA there ({DescribeVisibleGpus()}; the GPU build needs an " +
            $"NVIDIA driver and the CUDA 13 and cuDNN 9 libraries): {cause.Message}",
            cause.Kind, cause.Code ?? "EP_FAIL", cause);

    /// <summary>
    /// Refuses an accelerator this server cannot put in front of ONNX Runtime, naming it: of Triton's names only
    /// <c>tensorrt</c> on the GPU is carried (CUDA itself needs no entry; KIND_GPU uses it), and no CPU accelerator
    /// (OpenVINO is not in this build). Ignoring one would serve the model on another provider than its config asks for.
    /// </summary>
    public static void CheckAccelerators(InstanceOptions options)
    {
        const string Path = "optimization.execution_accelerators";
        for (var i = 0; i < options.GpuExecutionAccelerators.Count; i++)
        {
            var name = options.GpuExecutionAccelerators[i].Name;
            if (!string.Equals(name, TensorRtAccelerator, StringComparison.OrdinalIgnoreCase))
            {
                throw new BackendException(
                    $"{Path}.gpu_execution_accelerator[{i}] names '{name}', which this server does not have; the onnxruntime backend takes '{TensorRtAccelerator}' (CUDA needs no entry)",
                    InferenceErrorKind.InvalidArgument);
            }
        }
        if (options.CpuExecutionAccelerators.Count > 0)
        {
            throw new BackendException(
                $"{Path}.cpu_execution_accelerator[0] names '{options.CpuExecutionAccelerators[0].Name}', but this server's onnxruntime backend has no CPU accelerator (its CPU provider needs no entry)",
                InferenceErrorKind.InvalidArgument);
        }
    }

    /// <summary>The TensorRT provider's options when the config's <c>gpu_execution_accelerator</c> names <c>tensorrt</c>; else null.</summary>
    public static Dictionary<string, string>? TensorRtOptions(InstanceOptions options)
    {
        foreach (var accelerator in options.GpuExecutionAccelerators)
        {
            if (string.Equals(accelerator.Name, TensorRtAccelerator, StringComparison.OrdinalIgnoreCase))
            {
                return TensorRtOptions(accelerator.Parameters, options.DeviceId.ToString(CultureInfo.InvariantCulture));
            }
        }
        return null;
    }

    /// <summary>
    /// The GPU ordinals CUDA will number: as many as the NVIDIA driver lists, cut to CUDA_VISIBLE_DEVICES
    /// when that is set; none in the CPU build.
    /// </summary>
    public static IReadOnlyList<int> VisibleGpus()
    {
        if (OrtRuntime.Flavor != OrtRuntime.GpuFlavor)
        {
            return [];
        }
        const string DriverList = "/proc/driver/nvidia/gpus";
        var count = Directory.Exists(DriverList) ? Directory.GetDirectories(DriverList).Length : 0;
        if (Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES") is { } visible)
        {
            var listed = 0;
            foreach (var entry in visible.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                // CUDA stops at the first entry that names no device.
                if (entry.StartsWith('-'))
                {
                    break;
                }
                listed++;
            }
            count = Math.Min(count, listed);
        }
        var ordinals = new int[count];
        for (var i = 0; i < count; i++)
        {
            ordinals[i] = i;
        }
        return ordinals;
    }

    /// <summary>
    /// Triton's TensorRT accelerator parameters as the TensorRT provider names them. Triton's
    /// <c>precision_mode</c> FP32/FP16/INT8 and <c>max_workspace_size_bytes</c>; names that are already the
    /// provider's own (<c>trt_*</c>) pass through; anything else is refused by name.
    /// </summary>
    public static Dictionary<string, string> TensorRtOptions(IReadOnlyDictionary<string, string> parameters, string device)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal) { ["device_id"] = device };
        foreach (var (name, value) in parameters)
        {
            switch (name)
            {
                case "precision_mode":
                    switch (value.Trim().ToUpperInvariant())
                    {
                        case "FP32":
                            break;
                        case "FP16":
                            options["trt_fp16_enable"] = "1";
                            break;
                        case "INT8":
                            options["trt_int8_enable"] = "1";
                            break;
                        default:
                            throw new BackendException(
                                $"tensorrt accelerator parameter 'precision_mode' has value '{value}'; expected FP32, FP16 or INT8", InferenceErrorKind.InvalidArgument);
                    }
                    break;
                case "max_workspace_size_bytes":
                    options["trt_max_workspace_size"] = value.Trim();
                    break;
                case var own when own.StartsWith("trt_", StringComparison.Ordinal):
                    options[own] = value;
                    break;
                default:
                    throw new BackendException(
                        $"tensorrt accelerator parameter '{name}' is not known; expected precision_mode, max_workspace_size_bytes or a TensorRT provider option (trt_...)",
                        InferenceErrorKind.InvalidArgument);
            }
        }
        return options;
    }

    private static string DescribeVisibleGpus()
    {
        var count = VisibleGpus().Count;
        return count == 0 ? "no NVIDIA GPU is visible to this process" : $"{count} NVIDIA GPU(s) visible";
    }
}
