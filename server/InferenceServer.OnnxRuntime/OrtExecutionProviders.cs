using InferenceServer.Core.Backends;
using InferenceServer.OnnxRuntime.Interop;

namespace InferenceServer.OnnxRuntime;

/// <summary>
/// Chooses where a session executes. This is the one place a GPU build appends its provider
/// (SessionOptionsAppendExecutionProvider_CUDA_V2 is OrtApi slot 204) for <see cref="InstanceKind.Gpu"/>;
/// the CPU build refuses KIND_GPU instead of quietly running on CPU.
/// </summary>
internal static class OrtExecutionProviders
{
    public const string CudaProvider = "CUDAExecutionProvider";

    public static void Configure(OrtRuntime runtime, OrtSessionOptionsHandle sessionOptions, InstanceKind kind, int deviceId)
    {
        _ = sessionOptions;
        switch (kind)
        {
            case InstanceKind.Gpu:
                throw new BackendException(
                    $"KIND_GPU requested (device {deviceId}) but this server has no GPU execution provider: " +
                    $"its ONNX Runtime {runtime.Version} offers {string.Join(", ", runtime.AvailableProviders)} " +
                    "and this build does not attach CUDA. Use KIND_CPU or KIND_AUTO, or run the GPU build of the server.",
                    "NOT_IMPLEMENTED");
            case InstanceKind.Auto:
            case InstanceKind.Cpu:
                // ONNX Runtime runs on its CPU provider when none is appended.
                break;
            default:
                throw new BackendException($"unknown instance kind {kind}", "INVALID_ARGUMENT");
        }
    }
}
