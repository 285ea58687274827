using InferenceServer.Core.Backends;
using InferenceServer.OnnxRuntime;
using Microsoft.ML.OnnxRuntime;

namespace InferenceServer.UnitTests.OnnxRuntime;

public sealed class OrtRuntimeTests
{
    [Fact]
    public void Library_loads_and_reports_itself()
    {
        var runtime = OrtRuntime.Shared;
        Assert.StartsWith("1.32.", runtime.Version);
        Assert.Contains("CPUExecutionProvider", runtime.Providers);
        Assert.Contains(OrtRuntime.Flavor, new[] { "cpu", "gpu" });
        Assert.Equal(new BackendRuntime("onnxruntime", "ONNX Runtime", runtime.Version, OrtRuntime.Flavor), new OnnxRuntimeBackend().Runtime);
    }

    [Fact]
    public void Onnx_runtime_error_becomes_backend_exception_with_code_name_and_no_server_path()
    {
        var folder = Directory.CreateTempSubdirectory("ort-error-").FullName;
        try
        {
            var path = Path.Combine(folder, "model", "1", "model.onnx");
            var error = Assert.Throws<OnnxRuntimeException>(() => new InferenceSession(path));
            var translated = OrtErrors.Translate(error, "while testing", path);
            Assert.Equal("NO_SUCHFILE", translated.Code);
            Assert.StartsWith("while testing: ", translated.Message);
            Assert.Contains("1/model.onnx", translated.Message);
            Assert.DoesNotContain(folder, translated.Message);
            Assert.DoesNotContain("[ErrorCode", translated.Message);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData("[ErrorCode:InvalidArgument] bad input", "INVALID_ARGUMENT", "bad input")]
    [InlineData("[ErrorCode:InvalidProtobuf] not a model", "INVALID_PROTOBUF", "not a model")]
    [InlineData("[ErrorCode:ShapeInferenceNotRegistered] provider broke", "EP_FAIL", "provider broke")]
    [InlineData("[ErrorCode:RequirementNotRegistered] stopped", "MODEL_LOAD_CANCELED", "stopped")]
    [InlineData("no code here", "FAIL", "no code here")]
    public void Managed_error_names_map_to_the_c_api_codes(string text, string code, string message) =>
        Assert.Equal((code, message), OrtErrors.Split(text));
}
