using InferenceServer.Core.Backends;
using InferenceServer.OnnxRuntime;

namespace InferenceServer.UnitTests.OnnxRuntime;

public sealed class OnnxRuntimeSessionSettingsTests
{
    [Theory]
    [InlineData(null, OnnxRuntimeSessionSettings.OptimizationAll)]
    [InlineData(0, OnnxRuntimeSessionSettings.OptimizationAll)]
    [InlineData(-1, OnnxRuntimeSessionSettings.OptimizationBasic)]
    [InlineData(1, OnnxRuntimeSessionSettings.OptimizationExtended)]
    [InlineData(2, OnnxRuntimeSessionSettings.OptimizationAll)]
    public void Graph_level_maps_as_triton_does(int? level, int expected) =>
        Assert.Equal(expected, OnnxRuntimeSessionSettings.MapGraphLevel(level));

    [Fact]
    public void Parameters_parse_as_triton_names_them()
    {
        var options = new InstanceOptions("m.onnx", InstanceKind.Cpu, 0, new Dictionary<string, string>
        {
            ["intra_op_thread_count"] = "4",
            ["inter_op_thread_count"] = " 2 ",
            ["execution_mode"] = "0",
            ["enable_mem_arena"] = "True",
            ["enable_mem_pattern"] = "0",
        })
        { GraphOptimizationLevel = 1 };

        var settings = OnnxRuntimeSessionSettings.From(options);

        Assert.Equal(4, settings.IntraOpThreads);
        Assert.Equal(2, settings.InterOpThreads);
        Assert.False(settings.ParallelExecution);
        Assert.True(settings.MemArena);
        Assert.False(settings.MemPattern);
        Assert.Equal(OnnxRuntimeSessionSettings.OptimizationExtended, settings.GraphOptimizationLevel);
    }

    [Fact]
    public void Absent_parameters_leave_onnx_runtime_defaults()
    {
        var settings = OnnxRuntimeSessionSettings.From(new InstanceOptions("m.onnx", InstanceKind.Cpu, 0, new Dictionary<string, string>()));
        Assert.Null(settings.IntraOpThreads);
        Assert.Null(settings.InterOpThreads);
        Assert.Null(settings.ParallelExecution);
        Assert.Null(settings.MemArena);
        Assert.Null(settings.MemPattern);
        Assert.Equal(OnnxRuntimeSessionSettings.OptimizationAll, settings.GraphOptimizationLevel);
    }

    // ONNX Runtime makes every thread asked for when the session is made: a huge count tied the load up past any
    // timeout (the config fuzz suite's hang) instead of being refused.
    [Theory]
    [InlineData("intra_op_thread_count", "99999999")]
    [InlineData("inter_op_thread_count", "2147483647")]
    public void A_thread_count_beyond_the_bound_is_an_invalid_argument(string name, string value)
    {
        var options = new InstanceOptions("m.onnx", InstanceKind.Cpu, 0, new Dictionary<string, string> { [name] = value });

        var error = Assert.Throws<BackendException>(() => OnnxRuntimeSessionSettings.From(options));

        Assert.Equal(InferenceServer.Core.Inference.InferenceErrorKind.InvalidArgument, error.Kind);
        Assert.Contains($"'{name}'", error.Message, StringComparison.Ordinal);
        Assert.Contains($"to {OnnxRuntimeSessionSettings.MaxThreads}", error.Message, StringComparison.Ordinal);
        var bound = new InstanceOptions("m.onnx", InstanceKind.Cpu, 0, new Dictionary<string, string> { [name] = OnnxRuntimeSessionSettings.MaxThreads.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        Assert.NotNull(OnnxRuntimeSessionSettings.From(bound));
    }
}
