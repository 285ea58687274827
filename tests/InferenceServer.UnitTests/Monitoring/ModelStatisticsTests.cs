using InferenceServer.Core.Monitoring;
using InferenceServer.Core.Scheduling;
using Prometheus;

namespace InferenceServer.UnitTests.Monitoring;

public sealed class ModelStatisticsTests
{
    private static readonly TimeSpan Us = TimeSpan.FromMicroseconds(1);

    [Fact]
    public void SuccessesCountRequestsInferencesExecutionsAndDurations()
    {
        var clock = new ManualTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123));
        var statistics = new ModelStatistics("m", "3", maxBatchSize: 8, timeProvider: clock);
        ISchedulerObserver observer = statistics;

        observer.RequestQueued();
        observer.RequestDequeued();
        observer.BatchExecuted(1, 1 * Us, 10 * Us, 2 * Us);
        observer.RequestSucceeded(5 * Us, 1 * Us, 10 * Us, 2 * Us);
        statistics.InferenceSucceeded(1, 20 * Us);

        observer.RequestQueued();
        observer.RequestDequeued();
        observer.BatchExecuted(4, 3 * Us, 30 * Us, 4 * Us);
        observer.RequestSucceeded(7 * Us, 3 * Us, 30 * Us, 4 * Us);
        statistics.InferenceSucceeded(4, 50 * Us);

        var snapshot = statistics.Snapshot();
        Assert.Equal("m", snapshot.Name);
        Assert.Equal("3", snapshot.Version);
        Assert.Equal(1_700_000_000_123, snapshot.LastInferenceMs);
        Assert.Equal(5, snapshot.InferenceCount);
        Assert.Equal(2, snapshot.ExecutionCount);
        Assert.Equal(new DurationStatistic(2, 70_000), snapshot.Success);
        Assert.Equal(new DurationStatistic(0, 0), snapshot.Fail);
        Assert.Equal(new DurationStatistic(2, 12_000), snapshot.Queue);
        Assert.Equal(new DurationStatistic(2, 4_000), snapshot.ComputeInput);
        Assert.Equal(new DurationStatistic(2, 40_000), snapshot.ComputeInfer);
        Assert.Equal(new DurationStatistic(2, 6_000), snapshot.ComputeOutput);
        Assert.Equal(
            [new BatchStatistics(1, new(1, 1_000), new(1, 10_000), new(1, 2_000)), new BatchStatistics(4, new(1, 3_000), new(1, 30_000), new(1, 4_000))],
            snapshot.Batches);
        Assert.Equal(0, statistics.PendingRequests);
    }

    [Fact]
    public void AFailureIsCountedOnceWhereverItHappened()
    {
        var statistics = new ModelStatistics("m", "1", maxBatchSize: 0);

        // In the scheduler: it counts (with its reason), the version adds the end-to-end time.
        ((ISchedulerObserver)statistics).RequestFailed(SchedulerFailure.Backend, 3 * Us);
        statistics.InferenceFailed(40 * Us, reportedByScheduler: true);
        // Before scheduling (validation): the version counts it.
        statistics.InferenceFailed(2 * Us, reportedByScheduler: false);

        var snapshot = statistics.Snapshot();
        Assert.Equal(new DurationStatistic(2, 42_000), snapshot.Fail);
        Assert.Equal(new DurationStatistic(0, 0), snapshot.Success);
        Assert.Equal(new DurationStatistic(0, 0), snapshot.Queue);
        Assert.Equal(0, snapshot.InferenceCount);
        Assert.True(snapshot.LastInferenceMs > 0);
    }

    [Fact]
    public void PendingFollowsTheQueue()
    {
        var statistics = new ModelStatistics("m", "1", 0);
        ISchedulerObserver observer = statistics;
        observer.RequestQueued();
        observer.RequestQueued();
        observer.RequestQueued();
        observer.RequestDequeued();
        Assert.Equal(2, statistics.PendingRequests);
    }

    [Fact]
    public void BatchSizesBeyondTheConfigAreStillCountedInOrder()
    {
        var statistics = new ModelStatistics("m", "1", maxBatchSize: 2);
        ISchedulerObserver observer = statistics;
        foreach (var size in new[] { 9, 2, 5000, 1, 9 })
        {
            observer.BatchExecuted(size, TimeSpan.Zero, Us, TimeSpan.Zero);
        }
        var batches = statistics.Snapshot().Batches;
        Assert.Equal([1, 2, 9, 5000], batches.Select(b => b.BatchSize));
        Assert.Equal([1L, 1, 2, 1], batches.Select(b => b.ComputeInfer.Count));
    }

    [Fact]
    public void ConcurrentRecordingLosesNothing()
    {
        var statistics = new ModelStatistics("m", "1", maxBatchSize: 4);
        ISchedulerObserver observer = statistics;
        const int PerThread = 10_000;
        Parallel.For(0, 8, thread =>
        {
            for (var i = 0; i < PerThread; i++)
            {
                observer.RequestQueued();
                observer.RequestDequeued();
                observer.BatchExecuted(1 + (i % 4), Us, Us, Us);
                observer.RequestSucceeded(Us, Us, Us, Us);
                statistics.InferenceSucceeded(1 + (i % 4), Us);
            }
        });
        var snapshot = statistics.Snapshot();
        Assert.Equal(8 * PerThread, snapshot.ExecutionCount);
        Assert.Equal(8 * PerThread, snapshot.Success.Count);
        Assert.Equal(8 * PerThread * 1_000L, snapshot.Success.Ns);
        Assert.Equal(8 * (PerThread / 4) * (1 + 2 + 3 + 4), snapshot.InferenceCount);
        Assert.All(snapshot.Batches, b => Assert.Equal(8 * PerThread / 4, b.ComputeInfer.Count));
        Assert.Equal(0, statistics.PendingRequests);
    }

    private const string M2 = "model=\"m\",version=\"2\"";

    [Fact]
    public async Task StatisticsFeedTheTritonNamedSeries()
    {
        var registry = Metrics.NewCustomRegistry();
        var metrics = new InferenceMetrics(registry);
        var statistics = new ModelStatistics("m", "2", maxBatchSize: 8, metrics);

        // Created but not yet loaded: nothing shows.
        Assert.Empty((await Scrape.TakeAsync(registry)).Series("nv_inference_request_success"));

        statistics.VersionLoaded(TimeSpan.FromMilliseconds(1500));
        ISchedulerObserver observer = statistics;
        observer.RequestQueued();
        var scrape = await Scrape.TakeAsync(registry);
        Assert.Equal(1, scrape.Value("nv_inference_pending_request_count", M2));
        Assert.Equal(1.5, scrape.Value("nv_model_load_duration_secs", M2));
        Assert.Equal(0, scrape.Value("nv_inference_request_success", M2));
        Assert.Equal(0, scrape.Value("nv_inference_request_histogram_us_count", M2));

        observer.RequestDequeued();
        observer.BatchExecuted(3, Us, 100 * Us, Us);
        observer.RequestSucceeded(20 * Us, Us, 100 * Us, Us);
        statistics.InferenceSucceeded(3, 150 * Us);
        observer.RequestFailed(SchedulerFailure.Rejected, 5 * Us);
        statistics.InferenceFailed(6 * Us, reportedByScheduler: true);
        statistics.InferenceFailed(1 * Us, reportedByScheduler: false);

        scrape = await Scrape.TakeAsync(registry);
        Assert.Equal(0, scrape.Value("nv_inference_pending_request_count", M2));
        Assert.Equal(1, scrape.Value("nv_inference_request_success", M2));
        Assert.Equal(3, scrape.Value("nv_inference_count", M2));
        Assert.Equal(1, scrape.Value("nv_inference_exec_count", M2));
        Assert.Equal(150, scrape.Value("nv_inference_request_duration_us", M2)!.Value, 6);
        Assert.Equal(20, scrape.Value("nv_inference_queue_duration_us", M2)!.Value, 6);
        Assert.Equal(100, scrape.Value("nv_inference_compute_infer_duration_us", M2)!.Value, 6);
        Assert.Equal(
            new Dictionary<string, double>
            {
                ["model=\"m\",reason=\"REJECTED\",version=\"2\""] = 1,
                ["model=\"m\",reason=\"OTHER\",version=\"2\""] = 1,
                ["model=\"m\",reason=\"BACKEND\",version=\"2\""] = 0,
                ["model=\"m\",reason=\"CANCELED\",version=\"2\""] = 0,
            },
            scrape.Series("nv_inference_request_failure"));
        Assert.Equal(3, scrape.Value("nv_inference_batch_size_histogram_sum", M2));
        Assert.Equal(0, scrape.Value("nv_inference_batch_size_histogram_bucket", M2 + ",le=\"2\""));
        Assert.Equal(1, scrape.Value("nv_inference_batch_size_histogram_bucket", M2 + ",le=\"4\""));
        Assert.Equal([M2], scrape.Series("nv_inference_count").Keys);

        // Unloaded: the gauges go, the cumulative counters stay.
        statistics.Dispose();
        scrape = await Scrape.TakeAsync(registry);
        Assert.Empty(scrape.Series("nv_inference_pending_request_count"));
        Assert.Empty(scrape.Series("nv_model_load_duration_secs"));
        Assert.Equal(1, scrape.Value("nv_inference_request_success", M2));

        // Loaded again under the same number: the counters go on from where they were, the gauges come back.
        var reloaded = new ModelStatistics("m", "2", maxBatchSize: 8, metrics);
        reloaded.VersionLoaded(TimeSpan.FromSeconds(2));
        reloaded.InferenceSucceeded(1, 10 * Us);
        scrape = await Scrape.TakeAsync(registry);
        Assert.Equal(2, scrape.Value("nv_inference_request_success", M2));
        Assert.Equal(2, scrape.Value("nv_model_load_duration_secs", M2));
    }

    [Fact]
    public async Task TypesAndBucketsAreTritonsAndTheHistogramsEndInInf()
    {
        var registry = Metrics.NewCustomRegistry();
        var statistics = new ModelStatistics("m", "2", maxBatchSize: 8, new InferenceMetrics(registry));
        statistics.VersionLoaded(TimeSpan.FromSeconds(1));
        statistics.InferenceSucceeded(1, 300 * Us);
        statistics.InferenceSucceeded(1, TimeSpan.FromSeconds(20));

        var scrape = await Scrape.TakeAsync(registry);
        foreach (var counter in (string[])["nv_inference_request_success", "nv_inference_request_failure", "nv_inference_count", "nv_inference_exec_count",
            "nv_inference_request_duration_us", "nv_inference_queue_duration_us", "nv_inference_compute_input_duration_us",
            "nv_inference_compute_infer_duration_us", "nv_inference_compute_output_duration_us"])
        {
            Assert.Equal("counter", scrape.Type(counter));
        }
        Assert.Equal("gauge", scrape.Type("nv_inference_pending_request_count"));
        Assert.Equal("gauge", scrape.Type("nv_model_load_duration_secs"));
        foreach (var histogram in (string[])["nv_inference_request_histogram_us", "nv_inference_queue_histogram_us",
            "nv_inference_compute_infer_histogram_us", "nv_inference_batch_size_histogram"])
        {
            Assert.Equal("histogram", scrape.Type(histogram));
        }

        string Le(double bound) => $"{M2},le=\"{bound.ToString(System.Globalization.CultureInfo.InvariantCulture)}\"";
        var latency = scrape.Series("nv_inference_request_histogram_us_bucket");
        Assert.Equal([.. InferenceMetrics.LatencyBucketsUs.Select(Le), $"{M2},le=\"+Inf\""], latency.Keys);
        Assert.Equal(0, latency[Le(250)]);
        Assert.Equal(1, latency[Le(500)]);
        Assert.Equal(1, latency[Le(10_000_000)]);
        Assert.Equal(2, latency[$"{M2},le=\"+Inf\""]);
        Assert.Equal(2, scrape.Value("nv_inference_request_histogram_us_count", M2));
        Assert.Equal([.. InferenceMetrics.BatchSizeBuckets.Select(Le), $"{M2},le=\"+Inf\""], scrape.Series("nv_inference_batch_size_histogram_bucket").Keys);
    }

    [Fact]
    public async Task EachServerHasItsOwnRegistryAndNoProcessMetrics()
    {
        var ours = Metrics.NewCustomRegistry();
        var theirs = Metrics.NewCustomRegistry();
        new ModelStatistics("a", "1", 0, new InferenceMetrics(ours)).VersionLoaded(TimeSpan.Zero);
        new ModelStatistics("b", "1", 0, new InferenceMetrics(theirs)).VersionLoaded(TimeSpan.Zero);
        _ = new HostMetrics(ours);

        var scrape = await Scrape.TakeAsync(ours);
        Assert.Equal(["model=\"a\",version=\"1\""], scrape.Series("nv_inference_request_success").Keys);
        // Only Triton's families: no process_ or dotnet_ series from prometheus-net's defaults.
        Assert.All(scrape.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => Assert.Contains("nv_", line, StringComparison.Ordinal));
        if (OperatingSystem.IsLinux())
        {
            Assert.InRange(scrape.Value("nv_cpu_utilization")!.Value, 0, 1);
            Assert.InRange(scrape.Value("nv_cpu_memory_used_bytes")!.Value, 1, scrape.Value("nv_cpu_memory_total_bytes")!.Value);
        }
    }

    [Fact]
    public async Task RecordingAllocatesNothingOnceWarm()
    {
        var registry = Metrics.NewCustomRegistry();
        var statistics = new ModelStatistics("m", "1", maxBatchSize: 8, new InferenceMetrics(registry));
        statistics.VersionLoaded(TimeSpan.FromSeconds(1));

        void Request()
        {
            ISchedulerObserver observer = statistics;
            observer.RequestQueued();
            observer.RequestDequeued();
            observer.BatchExecuted(2, Us, 10 * Us, Us);
            observer.RequestSucceeded(5 * Us, Us, 10 * Us, Us);
            statistics.InferenceSucceeded(2, 20 * Us);
            observer.RequestFailed(SchedulerFailure.Canceled, Us);
            statistics.InferenceFailed(Us, reportedByScheduler: true);
        }

        Request();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            Request();
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(1001, (await Scrape.TakeAsync(registry)).Value("nv_inference_request_success", "model=\"m\",version=\"1\""));
    }
}
