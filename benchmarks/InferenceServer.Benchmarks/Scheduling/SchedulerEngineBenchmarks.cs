using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using InferenceServer.Benchmarks.Scheduling.Old;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Scheduling;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Benchmarks.Scheduling;

/// <summary>
/// The scheduler's own cost per request: enqueue, the hand-off to an instance's thread, completion
/// through the pooled ValueTask. The instance is an echo whose run costs next to nothing, so what is
/// measured is the scheduler and its thread hops, not a model. At concurrency 1 the engine with
/// batching off runs against the old default scheduler; at concurrency 32 (32 requests issued, then
/// awaited, per operation of 32) the engine with batching on runs against the old dynamic batcher.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class SchedulerEngineBenchmarks
{
    private const int Burst = 32;
    private const int MaxBatchSize = 64;
    private static readonly string[] OutputNames = ["output"];

    private readonly ValueTask<Tensor[]>[] _pending = new ValueTask<Tensor[]>[Burst];
    private OldInstancePoolScheduler _oldDefault = null!;
    private OldDynamicBatchScheduler _oldBatcher = null!;
    private ModelScheduler _unbatched = null!;
    private ModelScheduler _batching = null!;
    private SchedulerWork _work = null!;
    private Tensor _input = null!;

    [GlobalSetup]
    public void Setup()
    {
        _oldDefault = new OldInstancePoolScheduler("income", [new EchoInstance()]);
        _oldBatcher = new OldDynamicBatchScheduler("income", MaxBatchSize, new DynamicBatchingConfig(), [new EchoInstance()], TimeProvider.System, NullSchedulerObserver.Instance);
        _unbatched = new ModelScheduler("income", MaxBatchSize, null, [new EchoInstance()]);
        _batching = new ModelScheduler("income", MaxBatchSize, new DynamicBatchingConfig(), [new EchoInstance()]);
        _input = Tensor.Allocate("input", DataType.Fp32, [1, 58], 58 * sizeof(float));
        _work = new SchedulerWork([_input], OutputNames, 0, 0);
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _oldDefault.DisposeAsync();
        await _oldBatcher.DisposeAsync();
        await _unbatched.DisposeAsync();
        await _batching.DisposeAsync();
        _input.Dispose();
    }

    [Benchmark(Baseline = true, Description = "old default scheduler")]
    [BenchmarkCategory("concurrency 1")]
    public Task OldDefaultScheduler() => OneAsync(_oldDefault);

    [Benchmark(Description = "engine, batching off")]
    [BenchmarkCategory("concurrency 1")]
    public Task EngineBatchingOff() => OneAsync(_unbatched);

    [Benchmark(Baseline = true, OperationsPerInvoke = Burst, Description = "old dynamic batcher")]
    [BenchmarkCategory("concurrency 32")]
    public Task OldDynamicBatcher() => BurstAsync(_oldBatcher);

    [Benchmark(OperationsPerInvoke = Burst, Description = "engine, batching on")]
    [BenchmarkCategory("concurrency 32")]
    public Task EngineBatchingOn() => BurstAsync(_batching);

    private async Task OneAsync(IScheduler scheduler)
    {
        var outputs = await scheduler.ScheduleAsync(_work, CancellationToken.None);
        outputs[0].Dispose();
    }

    private async Task BurstAsync(IScheduler scheduler)
    {
        for (var i = 0; i < Burst; i++)
        {
            _pending[i] = scheduler.ScheduleAsync(_work, CancellationToken.None);
        }
        for (var i = 0; i < Burst; i++)
        {
            var outputs = await _pending[i];
            outputs[0].Dispose();
        }
    }
}
