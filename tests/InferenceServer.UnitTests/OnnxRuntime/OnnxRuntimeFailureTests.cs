using InferenceServer.Core.Backends;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Tensors;
using InferenceServer.OnnxRuntime;

namespace InferenceServer.UnitTests.OnnxRuntime;

public sealed class OnnxRuntimeFailureTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("ort-tests-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    [Fact]
    public void Corrupt_model_reports_onnx_runtime_error()
    {
        var path = Path.Combine(_scratch, "model.onnx");
        File.WriteAllBytes(path, [0x08, 0x07, 0xFF, 0xFF, 0xFF, 0x12, 0x34, 0x00, 0x99, 0x42, 0x13]);

        var error = Assert.Throws<BackendException>(() => new OnnxRuntimeBackend().CreateInstance(OnnxFixtures.Options(path)));
        Assert.Equal("INVALID_PROTOBUF", error.Code);
        Assert.Equal(InferenceErrorKind.Internal, error.Kind);
        Assert.Contains("Protobuf parsing failed", error.Message);
        // Clients see this reason: it names the file, never the server's path to it.
        Assert.Contains("model.onnx", error.Message);
        Assert.DoesNotContain(_scratch, error.Message);
    }

    [Fact]
    public void Missing_model_reports_no_such_file()
    {
        var path = Path.Combine(_scratch, "absent.onnx");
        var error = Assert.Throws<BackendException>(() => new OnnxRuntimeBackend().CreateInstance(OnnxFixtures.Options(path)));
        Assert.Equal("NO_SUCHFILE", error.Code);
        Assert.Contains("absent.onnx", error.Message);
        Assert.DoesNotContain(_scratch, error.Message);
    }

    [Fact]
    public void Unsupported_element_type_is_refused_by_name()
    {
        var error = Assert.Throws<BackendException>(
            () => new OnnxRuntimeBackend().CreateInstance(OnnxFixtures.Options(OnnxFixtures.UnsupportedFloat8)));
        Assert.Contains("'UNUSED_FLOAT8'", error.Message);
        Assert.Contains("FLOAT8E4M3FN", error.Message);
        Assert.Equal("NOT_IMPLEMENTED", error.Code);
    }

    [Theory]
    [InlineData("intra_op_thread_count", "many", "a whole number of threads from 0")]
    [InlineData("intra_op_thread_count", "-2", "a whole number of threads from 0")]
    [InlineData("inter_op_thread_count", "1.5", "a whole number of threads from 0")]
    [InlineData("execution_mode", "2", "0 (sequential) or 1 (parallel)")]
    [InlineData("enable_mem_arena", "maybe", "true or false")]
    [InlineData("enable_mem_pattern", "", "true or false")]
    public void Bad_parameter_value_names_the_parameter_and_accepted_values(string name, string value, string accepted)
    {
        var parameters = new Dictionary<string, string> { [name] = value };
        var error = Assert.Throws<BackendException>(
            () => new OnnxRuntimeBackend().CreateInstance(OnnxFixtures.Options(OnnxFixtures.AddSub, parameters)));
        Assert.Equal(InferenceErrorKind.InvalidArgument, error.Kind);
        Assert.Contains($"'{name}'", error.Message);
        Assert.Contains($"'{value}'", error.Message);
        Assert.Contains(accepted, error.Message);
    }

    [Fact]
    public void Unknown_parameter_names_are_left_for_others()
    {
        var parameters = new Dictionary<string, string> { ["some_other_setting"] = "x" };
        using var instance = new OnnxRuntimeBackend().CreateInstance(OnnxFixtures.Options(OnnxFixtures.AddSub, parameters));
        Assert.Equal(2, instance.Signature.Inputs.Count);
    }

    [Fact]
    public void Missing_input_is_named()
    {
        using var instance = new OnnxRuntimeBackend().CreateInstance(OnnxFixtures.Options(OnnxFixtures.AddSub));
        using var input0 = OnnxFixtures.Int32("INPUT0", [1, 16], new int[16]);
        var error = Assert.Throws<BackendException>(() => instance.Run([input0], ["OUTPUT0"]));
        Assert.Contains("'INPUT1' is missing", error.Message);
    }

    [Fact]
    public void Unknown_input_and_output_are_named()
    {
        using var instance = new OnnxRuntimeBackend().CreateInstance(OnnxFixtures.Options(OnnxFixtures.AddSub));
        using var input0 = OnnxFixtures.Int32("INPUT0", [1, 16], new int[16]);
        using var input1 = OnnxFixtures.Int32("INPUT1", [1, 16], new int[16]);
        using var stray = OnnxFixtures.Int32("INPUT9", [1, 16], new int[16]);

        var unknownInput = Assert.Throws<BackendException>(() => instance.Run([input0, input1, stray], ["OUTPUT0"]));
        Assert.Contains("'INPUT9'", unknownInput.Message);
        Assert.Equal(InferenceErrorKind.InvalidArgument, unknownInput.Kind);
        var unknownOutput = Assert.Throws<BackendException>(() => instance.Run([input0, input1], ["OUTPUT7"]));
        Assert.Contains("'OUTPUT7'", unknownOutput.Message);
        var twice = Assert.Throws<BackendException>(() => instance.Run([input0, input1], ["OUTPUT1", "OUTPUT1"]));
        Assert.Contains("'OUTPUT1' is requested more than once", twice.Message);
        var duplicateInput = Assert.Throws<BackendException>(() => instance.Run([input0, input0], ["OUTPUT0"]));
        Assert.Contains("'INPUT0' is given more than once", duplicateInput.Message);

        // The instance is still usable after refused runs.
        var outputs = instance.Run([input0, input1], ["OUTPUT0"]);
        Assert.Single(outputs).Dispose();
    }

    [Fact]
    public void Wrong_type_or_size_is_refused_before_running()
    {
        using var instance = new OnnxRuntimeBackend().CreateInstance(OnnxFixtures.Options(OnnxFixtures.AddSub));
        using var input0 = OnnxFixtures.Int32("INPUT0", [1, 16], new int[16]);
        using var floats = Tensor.Allocate("INPUT1", DataType.Fp32, [1, 16], 64);
        using var shortInput = Tensor.Allocate("INPUT1", DataType.Int32, [1, 16], 60);

        Assert.Contains("expects INT32", Assert.Throws<BackendException>(() => instance.Run([input0, floats], ["OUTPUT0"])).Message);
        Assert.Contains("needs 64", Assert.Throws<BackendException>(() => instance.Run([input0, shortInput], ["OUTPUT0"])).Message);
    }

    [Fact]
    public void Shape_the_model_rejects_reports_onnx_runtime_error()
    {
        using var instance = new OnnxRuntimeBackend().CreateInstance(OnnxFixtures.Options(OnnxFixtures.AddSub));
        using var input0 = OnnxFixtures.Int32("INPUT0", [2, 8], new int[16]);
        using var input1 = OnnxFixtures.Int32("INPUT1", [2, 8], new int[16]);
        var error = Assert.Throws<BackendException>(() => instance.Run([input0, input1], ["OUTPUT0"]));
        Assert.Equal("INVALID_ARGUMENT", error.Code);
        Assert.Equal(InferenceErrorKind.InvalidArgument, error.Kind);
        Assert.Contains("INPUT0", error.Message);
    }

    [Fact]
    public void Malformed_bytes_input_is_refused()
    {
        using var instance = new OnnxRuntimeBackend().CreateInstance(OnnxFixtures.Options(OnnxFixtures.IdentityAll));
        var inputs = new List<Tensor>();
        foreach (var (suffix, type) in IdentityCases.All)
        {
            inputs.Add(Tensor.Allocate("IN_" + suffix, type, [0, 1], 0));
        }
        var broken = Tensor.Allocate("IN_STRING", DataType.Bytes, [1, 1], 6);
        broken.Data.Clear();
        broken.Data[0] = 200; // claims 200 bytes, holds 2
        inputs[^1].Dispose();
        inputs[^1] = broken;
        try
        {
            var error = Assert.Throws<BackendException>(() => instance.Run(inputs, ["OUT_STRING"]));
            Assert.Contains("IN_STRING", error.Message);
        }
        finally
        {
            foreach (var tensor in inputs)
            {
                tensor.Dispose();
            }
        }
    }

    [Fact]
    public void Run_after_dispose_throws()
    {
        var instance = new OnnxRuntimeBackend().CreateInstance(OnnxFixtures.Options(OnnxFixtures.AddSub));
        instance.Dispose();
        instance.Dispose();
        Assert.Throws<ObjectDisposedException>(() => instance.Run([], []));
    }
}
