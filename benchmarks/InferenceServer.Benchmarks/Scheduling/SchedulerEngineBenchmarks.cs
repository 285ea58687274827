using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Scheduling;
using InferenceServer.Core.Tensors;
using DataType = InferenceServer.Core.Tensors.DataType;

namespace InferenceServer.Benchmarks.Scheduling;

/// <summary>
/// The scheduler's own cost per request: enqueue, the hand-off to an instance's thread, completion
/// through the pooled ValueTask. The instance is an echo whose run costs next to nothing, so what is
/// measured is the scheduler and its thread crossings, not a model. The baselines call the instance
/// directly on the benchmark's thread: the difference is what scheduling costs. At concurrency 1 the
/// engine runs with batching off; at concurrency 32 (32 requests sent, then awaited, per operation of
/// 32) with batching on. Issue 11 measured this engine against the two it replaced (RESULTS.md). The rate-limited
/// case is the engine with <c>--rate-limit execution_count</c> and an instance that asks for a resource nobody else
/// holds: what taking and giving back a lease costs when there is no contention.
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
    private readonly EchoInstance _direct = new();
    private ModelScheduler _unbatched = null!;
    private ModelScheduler _batching = null!;
    private ModelScheduler _limited = null!;
    private SchedulerWork _work = null!;
    private Tensor _input = null!;

    [GlobalSetup]
    public void Setup()
    {
        _unbatched = new ModelScheduler("income", MaxBatchSize, null, [new EchoInstance()]);
        _batching = new ModelScheduler("income", MaxBatchSize, new ModelDynamicBatching(), [new EchoInstance()]);
        var limiter = new RateLimiter([]);
        var demand = new ModelRateLimiter { Resources = { new ModelRateLimiter.Types.Resource { Name = "R", Count = 1 } } };
        var leases = limiter.TryRegister("income", [new InstanceDemand(demand, 0, "income_0")], out _);
        _limited = new ModelScheduler("income", MaxBatchSize, null, [new EchoInstance()], limiter: limiter, leases: leases);
        _input = Tensor.Allocate("input", DataType.Fp32, [1, 58], 58 * sizeof(float));
        _work = new SchedulerWork([_input], OutputNames, 0, 0);
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _unbatched.DisposeAsync();
        await _batching.DisposeAsync();
        await _limited.DisposeAsync();
        _input.Dispose();
    }

    [Benchmark(Baseline = true, Description = "direct run, no scheduler")]
    [BenchmarkCategory("concurrency 1")]
    public void DirectRun() => RunDirectly();

    [Benchmark(Description = "engine, batching off")]
    [BenchmarkCategory("concurrency 1")]
    public async Task EngineBatchingOff()
    {
        var outputs = await _unbatched.ScheduleAsync(_work, CancellationToken.None);
        outputs[0].Dispose();
    }

    [Benchmark(Description = "engine, batching off, rate limiter on")]
    [BenchmarkCategory("concurrency 1")]
    public async Task EngineRateLimited()
    {
        var outputs = await _limited.ScheduleAsync(_work, CancellationToken.None);
        outputs[0].Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Burst, Description = "direct runs, no scheduler")]
    [BenchmarkCategory("concurrency 32")]
    public void DirectRuns()
    {
        for (var i = 0; i < Burst; i++)
        {
            RunDirectly();
        }
    }

    [Benchmark(OperationsPerInvoke = Burst, Description = "engine, batching on")]
    [BenchmarkCategory("concurrency 32")]
    public async Task EngineBatchingOn()
    {
        for (var i = 0; i < Burst; i++)
        {
            _pending[i] = _batching.ScheduleAsync(_work, CancellationToken.None);
        }
        for (var i = 0; i < Burst; i++)
        {
            var outputs = await _pending[i];
            outputs[0].Dispose();
        }
    }

    private void RunDirectly() => _direct.Run(_work.Inputs, OutputNames)[0].Dispose();
}
