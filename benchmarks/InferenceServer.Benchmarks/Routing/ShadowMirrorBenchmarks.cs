using BenchmarkDotNet.Attributes;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Routing.Config;
using InferenceServer.Core.Routing.Shadow;
using InferenceServer.Core.Tensors;
using Microsoft.Extensions.Logging.Abstractions;

namespace InferenceServer.Benchmarks.Routing;

/// <summary>
/// What a 100% shadow's own work costs per copy, without the shadow model: one operation is a full run's worth of
/// copies (128, income's 58-feature rows) sampled, sent with the primary's answer, stacked into one request, answered
/// by a stub that gives each row its first feature, and compared. Allocations are exact whatever the machine's load,
/// which a server-wide CPU figure on a busy machine is not; divide by 128 for one copy.
/// </summary>
[MemoryDiagnoser]
public class ShadowMirrorBenchmarks
{
    private const int Copies = ShadowMirror.MaxCopiesPerRun;
    private const int Features = 58;

    private ShadowMirror _mirror = null!;
    private InferenceRequest _request = null!;
    private InferenceResponse _primary = null!;
    private long _compared;

    [GlobalSetup]
    public void Setup()
    {
        var config = new ShadowTraffic { Variant = "shadow", Percent = 100, QueueCapacity = 2 * Copies, DecisionOutput = "probability", DecisionThreshold = 0.5 };
        _mirror = new ShadowMirror(config, static (request, _) => Task.FromResult(Echo(request)), TimeProvider.System, NullLogger.Instance,
            batchRows: static () => 256);
        _request = new InferenceRequest { ModelName = "income" };
        var features = Tensor.Allocate("features", DataType.Fp32, [1, Features], Features * sizeof(float));
        for (var i = 0; i < Features; i++)
        {
            BitConverter.TryWriteBytes(features.Data[(i * sizeof(float))..], 0.25f * i);
        }
        _request.Inputs.Add(features);
        _request.RequestedOutputs.Add("probability");
        var probability = Tensor.Allocate("probability", DataType.Fp32, [1, 1], sizeof(float));
        BitConverter.TryWriteBytes(probability.Data, 0f);
        _primary = new InferenceResponse("income", "1", "", [probability]);
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _mirror.DisposeAsync();
        _request.Dispose();
        _primary.Dispose();
    }

    [Benchmark(Description = "128 copies: sample, send, stack, run (stub), compare")]
    public async Task<long> FullRun()
    {
        for (var i = 0; i < Copies; i++)
        {
            _mirror.Sample(_request)!.Send(_primary);
        }
        // The 128th copy starts the drain on the thread pool; the run is over once all are compared (one decision each).
        // DecisionCounts, not Snapshot: it allocates nothing, which the figures would count.
        _compared += Copies;
        var deadline = Environment.TickCount64 + 10_000;
        var spinner = default(SpinWait);
        while (_mirror.DecisionCounts().Decisions < _compared)
        {
            if (Environment.TickCount64 > deadline)
            {
                throw new InvalidOperationException($"the shadow compared {_mirror.DecisionCounts().Decisions} copies in 10 s, not {_compared}");
            }
            spinner.SpinOnce();
        }
        return _compared;
    }

    private static InferenceResponse Echo(InferenceRequest request)
    {
        var features = request.Inputs[0];
        var rows = (int)features.Shape[0];
        var width = (int)features.Shape[1];
        var probability = Tensor.Allocate("probability", DataType.Fp32, [rows, 1], rows * sizeof(float));
        for (var r = 0; r < rows; r++)
        {
            features.Data.Slice(r * width * sizeof(float), sizeof(float)).CopyTo(probability.Data[(r * sizeof(float))..]);
        }
        return new InferenceResponse("income_gbt", "1", "", [probability]);
    }
}
