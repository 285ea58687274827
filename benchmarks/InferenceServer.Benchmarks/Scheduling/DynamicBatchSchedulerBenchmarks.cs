using BenchmarkDotNet.Attributes;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Scheduling;
using InferenceServer.Core.Tensors;
using DataType = InferenceServer.Core.Tensors.DataType;

namespace InferenceServer.Benchmarks.Scheduling;

/// <summary>
/// The dynamic batcher's own cost per request: enqueue, the drainer's hand-off to an instance's
/// thread, completion through the pooled ValueTask. One request at a time against a trivial
/// instance, so what is measured is the scheduler (and two thread hops), not a model. The baseline
/// is the default scheduler (a Channel and a TaskCompletionSource per request) in the same run.
/// </summary>
[MemoryDiagnoser]
public class DynamicBatchSchedulerBenchmarks
{
    private static readonly string[] OutputNames = ["output"];

    private DynamicBatchScheduler _scheduler = null!;
    private InstancePoolScheduler _pool = null!;
    private SchedulerWork _work = null!;
    private Tensor _input = null!;

    [GlobalSetup]
    public void Setup()
    {
        _scheduler = new DynamicBatchScheduler("income", 64, new ModelDynamicBatching(), [new EchoInstance()], TimeProvider.System, NullSchedulerObserver.Instance);
        _pool = new InstancePoolScheduler("income", [new EchoInstance()]);
        _input = Tensor.Allocate("input", DataType.Fp32, [1, 58], 58 * sizeof(float));
        _work = new SchedulerWork([_input], OutputNames, 0, 0);
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _scheduler.DisposeAsync();
        await _pool.DisposeAsync();
        _input.Dispose();
    }

    /// <summary>The same request through the default scheduler.</summary>
    [Benchmark(Baseline = true)]
    public async Task DefaultSchedulerEnqueueToCompletion()
    {
        var outputs = await _pool.ScheduleAsync(_work, CancellationToken.None);
        outputs[0].Dispose();
    }

    /// <summary>One request through the scheduler; the outputs (one [1,1] tensor) are the result and are released.</summary>
    [Benchmark]
    public async Task EnqueueToCompletion()
    {
        var outputs = await _scheduler.ScheduleAsync(_work, CancellationToken.None);
        outputs[0].Dispose();
    }
}
