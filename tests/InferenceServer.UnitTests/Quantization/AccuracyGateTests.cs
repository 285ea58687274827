using System.Buffers.Binary;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Quantization;
using InferenceServer.Core.Tensors;

namespace InferenceServer.UnitTests.Quantization;

/// <summary>The accuracy gate over a backend whose answers are known by hand (<see cref="ScaleBackend"/>: y = k·x).</summary>
public sealed class AccuracyGateTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gate-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Model(string name, string scale)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, scale);
        return path;
    }

    private static Tensor Rows(int width, params float[] values)
    {
        var tensor = Tensor.Allocate("x", DataType.Fp32, [values.Length / width, width], values.Length * 4);
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(tensor.Data[(i * 4)..], values[i]);
        }
        return tensor;
    }

    private GateResult Evaluate(string variantScale, GateLimits limits, EvaluationSet set) =>
        AccuracyGate.Evaluate(new ScaleBackend(), new InstanceOptions(Model("parent.txt", "1"), InstanceKind.Cpu, 0, new Dictionary<string, string>()),
            Model("variant.txt", variantScale), ["y"], set, limits);

    [Fact]
    public void ErrorsAndAgreementOfASingleProbabilityAreMeasuredPerElementAndRow()
    {
        using var x = Rows(1, 0.2f, 0.4f, 0.6f, 0.9f);
        using var set = EvaluationSet.FromBatches([[x]], "four rows");

        // y = 1.1x: errors 0.02, 0.04, 0.06, 0.09; decisions (>= 0.5) all alike, 0.44 staying below.
        var close = Evaluate("1.1", new GateLimits(MaxAbsError: 0.1, MinAgreement: 1), set);
        var output = Assert.Single(close.Outputs);
        Assert.True(close.Passed, string.Join("; ", close.Failures));
        Assert.Equal(0.09, output.MaxAbsError, 6);
        Assert.Equal(0.0525, output.MeanAbsError, 6);
        Assert.Equal(1.0, output.Agreement);
        Assert.Equal(">= 0.5", output.Decision);
        Assert.Equal(4, output.Rows);
        Assert.Equal(4, close.Rows);
        Assert.True(close.ParentMilliseconds > 0 && close.VariantMilliseconds > 0);
        // The files are "1" and "1.1": 1 and 3 bytes.
        Assert.Equal((1, 3, 3.0), (close.ParentBytes, close.VariantBytes, close.SizeRatio));

        // y = 1.3x: 0.4 becomes 0.52 and crosses the threshold: 3 of 4 rows agree; the error 0.27 is over the limit.
        var far = Evaluate("1.3", new GateLimits(MaxAbsError: 0.1, MinAgreement: 0.9), set);
        Assert.False(far.Passed);
        Assert.Equal(0.75, far.Outputs[0].Agreement);
        Assert.Equal(
            ["output 'y': max abs error 0.27 exceeds the max-abs-error limit 0.1",
             "output 'y': decision agreement 75.00% (>= 0.5, 4 rows) is below the min-agreement limit 90.00%"],
            far.Failures);
        Assert.StartsWith("refused by the accuracy gate: output 'y': max abs error 0.27", far.Summary());
    }

    [Fact]
    public void AThresholdOfTheUsersDecidesInstead()
    {
        using var x = Rows(1, 0.2f, 0.4f, 0.6f, 0.9f);
        using var set = EvaluationSet.FromBatches([[x]], "four rows");
        // At 0.7 the 0.6 row flips under y = 1.3x (0.78) and 0.4 does not: still 3 of 4.
        var result = Evaluate("1.3", new GateLimits { Threshold = 0.7 }, set);
        Assert.Equal(0.75, result.Outputs[0].Agreement);
        Assert.Equal(">= 0.7", result.Outputs[0].Decision);
        Assert.True(result.Passed);
    }

    [Fact]
    public void ClassScoresDecideByArgmaxOverTheLastDimension()
    {
        // Scaling by a positive factor keeps every argmax; by a negative one flips all rows but the one with a tie at 0.
        using var x = Rows(3, 0.1f, 0.5f, 0.2f, 0.7f, 0.1f, 0.1f, 0f, 0f, 0f);
        using var set = EvaluationSet.FromBatches([[x]], "three rows of three classes");
        var scaled = Evaluate("2", new GateLimits(MinAgreement: 1), set);
        Assert.Equal("argmax", scaled.Outputs[0].Decision);
        Assert.Equal(3, scaled.Outputs[0].Rows);
        Assert.Equal(1.0, scaled.Outputs[0].Agreement);
        var negated = Evaluate("-1", new GateLimits(MinAgreement: 1), set);
        Assert.Equal(1 / 3.0, negated.Outputs[0].Agreement, 9);
        Assert.False(negated.Passed);
    }

    [Fact]
    public async Task AucOfEachModelAndTheirDifferenceComeFromTheLabels()
    {
        var file = Path.Combine(_folder, "eval.csv");
        // x scores 0.1, 0.4, 0.35, 0.8 against labels 0, 0, 1, 1: AUC 0.75 for both (a positive scale keeps the order).
        File.WriteAllText(file, "x,label\n0.1,0\n0.4,0\n0.35,1\n0.8,true\n");
        var config = new Core.Repository.ModelConfig { Name = "scale", MaxBatchSize = 8 };
        config.Input.Add(new Core.Repository.ModelInput { Name = "x", DataType = Core.Repository.DataType.TypeFp32, Dims = { 1 } });
        config.Output.Add(new Core.Repository.ModelOutput { Name = "y", DataType = Core.Repository.DataType.TypeFp32, Dims = { 1 } });
        using var set = await EvaluationSet.ReadFileAsync(file, config, "label");
        Assert.Equal([false, false, true, true], set.Labels!);
        Assert.Equal("eval.csv (4 rows, labels from 'label')", set.Source);

        var kept = Evaluate("3", new GateLimits(MaxAucDrop: 0), set);
        Assert.Equal(0.75, kept.Outputs[0].ParentAuc!.Value, 9);
        Assert.Equal(0.75, kept.Outputs[0].VariantAuc!.Value, 9);
        Assert.Equal(0, kept.Outputs[0].AucDrop!.Value, 9);
        Assert.True(kept.Passed);

        // A negative scale reverses the order: AUC 0.25, a drop of 0.5.
        var reversed = Evaluate("-1", new GateLimits(MaxAucDrop: 0.1), set);
        Assert.Equal(0.25, reversed.Outputs[0].VariantAuc!.Value, 9);
        Assert.Contains("output 'y': AUC fell by 0.5 (0.7500 to 0.2500), more than the max-auc-drop limit 0.1", reversed.Failures);
    }

    [Fact]
    public void AnAucLimitWithoutLabelsFailsAndSaysWhy()
    {
        using var x = Rows(1, 0.2f, 0.9f);
        using var set = EvaluationSet.FromBatches([[x]], "two rows");
        var result = Evaluate("1", new GateLimits(MaxAucDrop: 0.01), set);
        Assert.Contains("no AUC could be measured", Assert.Single(result.Failures));
    }

    [Fact]
    public void AnEmptyEvaluationSetIsRefused()
    {
        using var set = EvaluationSet.FromBatches([], "nothing");
        var error = Assert.Throws<QuantizationException>(() => Evaluate("1", new GateLimits(), set));
        Assert.Contains("the evaluation set holds no rows", error.Message);
    }
}
