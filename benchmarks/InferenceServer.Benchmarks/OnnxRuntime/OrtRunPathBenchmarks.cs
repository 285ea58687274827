using BenchmarkDotNet.Attributes;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Tensors;
using InferenceServer.OnnxRuntime;
using Microsoft.ML.OnnxRuntime;

namespace InferenceServer.Benchmarks.OnnxRuntime;

/// <summary>
/// Where the fixed cost of one ONNX Runtime run goes on a small model (<c>income</c>, an MLP whose batch-1 run takes
/// about 10 µs), through each path Microsoft.ML.OnnxRuntime's managed API offers: the server's instance
/// (<see cref="IModelInstance.Run"/>: OrtValues over the pooled input, an output tensor pre-allocated from the pool,
/// one IoBinding) against <c>InferenceSession.Run</c> with OrtValues made per run, and against the floor — the same
/// call with every OrtValue made once.
/// </summary>
[MemoryDiagnoser]
public class OrtRunPathBenchmarks
{
    private const string Input = "features";
    private const string Output = "probability";
    private const int Features = 58;

    private static readonly string[] InputNames = [Input];
    private static readonly string[] OutputNames = [Output];

    private IModelInstance _instance = null!;
    private Tensor _tensor = null!;
    private Tensor[] _inputs = null!;
    private InferenceSession _session = null!;
    private RunOptions _runOptions = null!;
    private float[] _inputData = null!;
    private float[] _outputData = null!;
    private OrtValue _inputValue = null!;
    private OrtValue _outputValue = null!;

    [Params(1, 32)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var model = Path.Combine(RepositoryFolder.Root(), "models", "income", "1", "model.onnx");
        _instance = new OnnxRuntimeBackend().CreateInstance(new InstanceOptions(model, InstanceKind.Cpu, 0, new Dictionary<string, string>()));
        _tensor = Tensor.Allocate(Input, DataType.Fp32, [Batch, Features], Batch * Features * sizeof(float));
        _inputs = [_tensor];
        _session = new InferenceSession(model);
        _runOptions = new RunOptions();
        _inputData = new float[Batch * Features];
        _outputData = new float[Batch];
        _inputValue = OrtValue.CreateTensorValueFromMemory(_inputData, [Batch, Features]);
        _outputValue = OrtValue.CreateTensorValueFromMemory(_outputData, [Batch, 1]);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _inputValue.Dispose();
        _outputValue.Dispose();
        _session.Dispose();
        _runOptions.Dispose();
        _tensor.Dispose();
        _instance.Dispose();
    }

    [Benchmark(Baseline = true, Description = "server instance: IoBinding, pooled output")]
    public void Instance()
    {
        foreach (var output in _instance.Run(_inputs, OutputNames))
        {
            output.Dispose();
        }
    }

    [Benchmark(Description = "InferenceSession.Run, OrtValues made per run")]
    public void SessionRun()
    {
        using var input = OrtValue.CreateTensorValueFromMemory(_inputData, [Batch, Features]);
        using var output = OrtValue.CreateTensorValueFromMemory(_outputData, [Batch, 1]);
        _session.Run(_runOptions, InputNames, [input], OutputNames, [output]);
    }

    [Benchmark(Description = "InferenceSession.Run, OrtValues made once (floor)")]
    public void SessionRunReused() => _session.Run(_runOptions, InputNames, [_inputValue], OutputNames, [_outputValue]);
}
