using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Order;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace InferenceServer.Benchmarks;

/// <summary>
/// The run configuration: BenchmarkDotNet's defaults plus a short job (one launch, few iterations)
/// so the whole suite fits in a few minutes on a shared 2-core machine. Memory, categories and
/// grouping are attributes on the benchmark classes, so they hold however the classes are run.
/// </summary>
internal static class ShortMemoryConfig
{
    /// <summary>The configuration; <paramref name="inProcess"/> runs the short job in this process instead of a fresh build.</summary>
    public static IConfig Create(bool inProcess = false)
    {
        var job = Job.ShortRun.WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(5).WithId("Short");
        return ManualConfig.Create(DefaultConfig.Instance)
            .AddJob(inProcess ? job.WithToolchain(InProcessEmitToolchain.Instance) : job)
            .WithOrderer(new DefaultOrderer(SummaryOrderPolicy.Declared));
    }
}
