using InferenceServer.Core.Repository;
using InferenceServer.Core.Repository.TextFormat;
using InferenceServer.UnitTests.TestDoubles;

namespace InferenceServer.UnitTests.Repository.TextFormat;

/// <summary>
/// The text-format writer against the reader: every config in the checkout and every config text the unit tests use
/// reads back, once written, as an equal message; so do the corners of the format (escapes, special floats, a oneof
/// member set to its default, empty messages, maps).
/// </summary>
public sealed class TextFormatWriterTests
{
    public static TheoryData<string> CheckedInConfigs()
    {
        var data = new TheoryData<string>();
        foreach (var root in new[] { RepositoryPaths.Models, Path.Combine(RepositoryPaths.Root, "tests", "fixtures") })
        {
            // Hidden folders hold a test server's cached variants, not configs of the checkout.
            foreach (var file in Directory.EnumerateFiles(root, "config.pbtxt", SearchOption.AllDirectories)
                .Where(f => !Path.GetRelativePath(root, f).Split(Path.DirectorySeparatorChar).Any(part => part.StartsWith('.'))))
            {
                data.Add(Path.GetRelativePath(RepositoryPaths.Root, file));
            }
        }
        return data;
    }

    public static TheoryData<string, string> TestConfigTexts() => new()
    {
        { "rich", ModelConfigWireTests.Rich },
        { "simple", ModelConfigExampleTests.Simple },
        { "classifier", ModelConfigExampleTests.Classifier },
        { "fake", FakeModelRepository.Config },
    };

    private static ModelConfig ReadRaw(string text)
    {
        var config = new ModelConfig();
        var reader = ConfigTextReader.ReadText(text, "config.pbtxt", config);
        Assert.Empty(reader.Warnings);
        return config;
    }

    private static void AssertRoundTrips(string text)
    {
        var raw = ReadRaw(text);
        var written = TextFormatWriter.Write(raw);
        Assert.Equal(raw, ReadRaw(written));
        // Writing is stable: the text of the read-back message is the same text.
        Assert.Equal(written, TextFormatWriter.Write(ReadRaw(written)));

        // And the validated config (defaults filled in) survives too, as the server reads it.
        var validated = ModelConfigReader.Parse(text).Config;
        Assert.Equal(validated, ModelConfigReader.Parse(TextFormatWriter.Write(validated)).Config);
    }

    [Theory]
    [MemberData(nameof(CheckedInConfigs))]
    public void Every_config_in_the_checkout_reads_back_equal(string relativePath)
    {
        AssertRoundTrips(File.ReadAllText(Path.Combine(RepositoryPaths.Root, relativePath)));
    }

    [Fact]
    public void The_checkout_has_configs_to_check()
    {
        Assert.True(CheckedInConfigs().Count >= 8, $"only {CheckedInConfigs().Count} config.pbtxt files found under models/ and tests/fixtures/");
    }

    [Theory]
    [MemberData(nameof(TestConfigTexts))]
    public void Every_config_text_of_the_unit_tests_reads_back_equal(string name, string text)
    {
        Assert.NotEmpty(name);
        AssertRoundTrips(text);
    }

    [Fact]
    public void Corners_of_the_format_read_back_equal()
    {
        var config = new ModelConfig
        {
            Name = "quote\" back\\slash \n tab\t bell\a nul\0 7 grüße ✓",
            MaxBatchSize = -3,
            SequenceBatching = new ModelSequenceBatching
            {
                Direct = new ModelSequenceBatching.Types.StrategyDirect { MinimumSlotUtilization = 0.1f },
                MaxSequenceIdleMicroseconds = ulong.MaxValue >> 1,
            },
            ModelMetrics = new ModelMetrics(),
            Optimization = new ModelOptimizationPolicy(),
        };
        var control = new ModelSequenceBatching.Types.Control { Kind = ModelSequenceBatching.Types.Control.Types.Kind.ControlSequenceReady };
        control.Fp32FalseTrue.Add([-0f, float.Epsilon, float.MaxValue, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 1f / 3, 1e-20f, 16777217f]);
        control.BoolFalseTrue.Add([false, true]);
        config.SequenceBatching.ControlInput.Add(new ModelSequenceBatching.Types.ControlInput { Name = "START", Control = { control } });
        var state = new ModelSequenceBatching.Types.State { InputName = "s" };
        // A oneof member set to its default value is still the oneof's choice.
        state.InitialState.Add(new ModelSequenceBatching.Types.InitialState { Name = "zero", ZeroData = false });
        config.SequenceBatching.State.Add(state);
        var metric = new ModelMetrics.Types.MetricControl { HistogramOptions = new ModelMetrics.Types.MetricControl.Types.HistogramOptions() };
        metric.HistogramOptions.Buckets.Add([-0d, 0.1, double.MaxValue, double.Epsilon, 1e300, double.NaN]);
        config.ModelMetrics.MetricControl.Add(metric);
        config.MetricTags.Add("team", "search");
        config.Parameters.Add("z", new ModelParameter { StringValue = "last" });
        config.Parameters.Add("", new ModelParameter());
        config.Parameters.Add("a", new ModelParameter { StringValue = "first" });
        var input = new ModelInput { Name = "x", DataType = DataType.TypeFp16, Reshape = new ModelTensorReshape() };
        input.Dims.Add([-1, 0, long.MaxValue, long.MinValue]);
        config.Input.Add(input);
        config.Output.Add(new ModelOutput { Name = "y" });

        var text = TextFormatWriter.Write(config, "written by a test\nline two");
        var read = ReadRaw(text);
        Assert.Equal(config, read);
        Assert.Equal(ModelSequenceBatching.Types.InitialState.StateDataOneofCase.ZeroData, read.SequenceBatching.State[0].InitialState[0].StateDataCase);
        Assert.NotNull(read.Input[0].Reshape);
        Assert.NotNull(read.Optimization);
        Assert.StartsWith("# written by a test\n# line two\n", text);
        Assert.Contains("data_type: TYPE_FP16", text);
        Assert.Contains("    reshape { }\n", text);
        Assert.Contains("  {\n    name: \"y\"\n  }\n", text);
        Assert.Contains("dims: [ -1, 0, 9223372036854775807, -9223372036854775808 ]", text);
        // Map entries in key order, whatever order they were added in.
        Assert.True(text.IndexOf("key: \"a\"", StringComparison.Ordinal) < text.IndexOf("key: \"z\"", StringComparison.Ordinal), text);
    }

    [Fact]
    public void Written_like_Tritons_own_configs()
    {
        var config = ReadRaw("""
            name: "m"
            max_batch_size: 8
            input [ { name: "x" data_type: TYPE_FP32 dims: [ 4 ] } ]
            output [ { name: "y" data_type: TYPE_FP32 dims: [ 1 ] }, { name: "z" data_type: TYPE_INT64 dims: [ 1 ] } ]
            parameters { key: "k" value { string_value: "v" } }
            """);
        Assert.Equal("""
            name: "m"
            max_batch_size: 8
            input [
              {
                name: "x"
                data_type: TYPE_FP32
                dims: [ 4 ]
              }
            ]
            output [
              {
                name: "y"
                data_type: TYPE_FP32
                dims: [ 1 ]
              },
              {
                name: "z"
                data_type: TYPE_INT64
                dims: [ 1 ]
              }
            ]
            parameters {
              key: "k"
              value {
                string_value: "v"
              }
            }

            """.ReplaceLineEndings("\n"), TextFormatWriter.Write(config));
    }
}
