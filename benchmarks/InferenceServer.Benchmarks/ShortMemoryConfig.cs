using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Order;

namespace InferenceServer.Benchmarks;

/// <summary>
/// The run configuration: BenchmarkDotNet's defaults plus a short job (one launch, few iterations)
/// so the whole suite fits in a few minutes on a shared 2-core machine. Memory, categories and
/// grouping are attributes on the benchmark classes, so they hold however the classes are run.
/// </summary>
internal static class ShortMemoryConfig
{
    public static IConfig Create() =>
        ManualConfig.Create(DefaultConfig.Instance)
            .AddJob(Job.ShortRun.WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(5).WithId("Short"))
            .WithOrderer(new DefaultOrderer(SummaryOrderPolicy.Declared));
}
