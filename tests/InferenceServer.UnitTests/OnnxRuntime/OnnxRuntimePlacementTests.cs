using InferenceServer.Core.Backends;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Repository;
using InferenceServer.OnnxRuntime;

namespace InferenceServer.UnitTests.OnnxRuntime;

/// <summary>Where instances run. The tests run the CPU build; a GPU build on a machine without CUDA takes the other branch.</summary>
public sealed class OnnxRuntimePlacementTests
{
    [Fact]
    public void Gpu_kind_fails_with_a_reason_naming_the_build_and_what_is_missing()
    {
        var options = OnnxFixtures.Options(OnnxFixtures.AddSub, kind: InstanceKind.Gpu) with { DeviceId = 1 };
        var error = Assert.Throws<BackendException>(() => new OnnxRuntimeBackend().CreateInstance(options));
        Assert.Contains("KIND_GPU requested (device 1)", error.Message);
        if (OrtRuntime.Flavor == OrtRuntime.CpuFlavor)
        {
            Assert.Equal("NOT_IMPLEMENTED", error.Code);
            Assert.Contains("cpu build of ONNX Runtime 1.32", error.Message);
            Assert.Contains("CPUExecutionProvider", error.Message);
            Assert.Contains("no CUDA", error.Message);
            Assert.Contains("-p:OrtFlavor=gpu", error.Message);
        }
        else
        {
            Assert.Contains("could not start CUDA", error.Message);
        }
    }

    [Fact]
    public void Gpu_kind_with_tensorrt_fails_the_same_way_without_cuda()
    {
        var options = OnnxFixtures.Options(OnnxFixtures.AddSub, kind: InstanceKind.Gpu) with
        {
            GpuExecutionAccelerators = [new() { Name = "tensorrt", Parameters = { ["precision_mode"] = "FP16" } }],
        };
        var error = Assert.Throws<BackendException>(() => new OnnxRuntimeBackend().CreateInstance(options));
        Assert.Contains("KIND_GPU requested (device 0)", error.Message);
    }

    [Fact]
    public void Auto_kind_runs_on_the_cpu_when_no_gpu_can_be_had()
    {
        using var instance = (OnnxRuntimeInstance)new OnnxRuntimeBackend().CreateInstance(OnnxFixtures.Options(OnnxFixtures.AddSub, kind: InstanceKind.Auto));
        Assert.Equal(OrtExecutionProviders.CpuProvider, instance.Placement);
        using var input0 = OnnxFixtures.Int32("INPUT0", [1, 16], new int[16]);
        using var input1 = OnnxFixtures.Int32("INPUT1", [1, 16], Enumerable.Range(0, 16).ToArray());
        var outputs = instance.Run([input0, input1], ["OUTPUT1"]);
        using var difference = Assert.Single(outputs);
        Assert.Equal(Enumerable.Range(0, 16).Select(i => -i).ToArray(), OnnxFixtures.ReadInt32(difference));
    }

    [Fact]
    public void The_cpu_build_offers_no_gpus_to_the_loader()
    {
        if (OrtRuntime.Flavor == OrtRuntime.CpuFlavor)
        {
            Assert.Empty(new OnnxRuntimeBackend().GpuDevices);
        }
        else
        {
            Assert.Equal(Enumerable.Range(0, new OnnxRuntimeBackend().GpuDevices.Count), new OnnxRuntimeBackend().GpuDevices);
        }
    }

    [Fact]
    public void Tensorrt_parameters_map_as_triton_names_them()
    {
        var options = OrtExecutionProviders.TensorRtOptions(
            new Dictionary<string, string> { ["precision_mode"] = "fp16", ["max_workspace_size_bytes"] = "1073741824", ["trt_engine_cache_enable"] = "1" }, "2");
        Assert.Equal("2", options["device_id"]);
        Assert.Equal("1", options["trt_fp16_enable"]);
        Assert.Equal("1073741824", options["trt_max_workspace_size"]);
        Assert.Equal("1", options["trt_engine_cache_enable"]);

        var error = Assert.Throws<BackendException>(() => OrtExecutionProviders.TensorRtOptions(new Dictionary<string, string> { ["turbo"] = "on" }, "0"));
        Assert.Equal(InferenceErrorKind.InvalidArgument, error.Kind);
        Assert.Contains("'turbo'", error.Message);
        Assert.Contains("precision_mode", error.Message);
    }
}
