using InferenceServer.OnnxRuntime.Interop;

namespace InferenceServer.UnitTests.OnnxRuntime;

public sealed class OrtRuntimeTests
{
    [Fact]
    public void Library_loads_and_reports_itself()
    {
        var runtime = OrtRuntime.Shared;
        Assert.StartsWith("1.", runtime.Version);
        Assert.Contains("CPUExecutionProvider", runtime.AvailableProviders);
        Assert.NotEqual(0, runtime.Env);
        Assert.NotEqual(0, runtime.CpuMemoryInfo);
        Assert.NotEqual(0, runtime.DefaultAllocator);
    }

    [Fact]
    public unsafe void Status_from_onnx_runtime_becomes_backend_exception_with_code_name()
    {
        var api = OrtRuntime.Shared.Api;
        nint status;
        fixed (byte* text = "model is on fire\0"u8)
        {
            status = api.CreateStatus(7, text);
        }
        var error = Assert.Throws<InferenceServer.Core.Backends.BackendException>(() => api.Check(status, "while testing"));
        Assert.Equal("while testing: model is on fire", error.Message);
        Assert.Equal("INVALID_PROTOBUF", error.Code);
        api.Check(0, "success costs nothing");
    }
}
