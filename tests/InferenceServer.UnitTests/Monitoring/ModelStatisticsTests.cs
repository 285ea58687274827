using InferenceServer.Core.Monitoring;
using InferenceServer.Core.Scheduling;
using InferenceServer.Protocols.Metrics;

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

    [Fact]
    public void StatisticsFeedTheTritonNamedInstruments()
    {
        using var factory = new TestMeterFactory();
        using var collector = new MetricsCollector(factory);
        var metrics = new InferenceMetrics(factory);
        var statistics = new ModelStatistics("m", "2", maxBatchSize: 8, metrics);
        statistics.VersionLoaded(TimeSpan.FromMilliseconds(1500));
        ISchedulerObserver observer = statistics;

        observer.RequestQueued();
        var families = Collect(collector);
        Assert.Equal(1, Single(families, "nv_inference_pending_request_count").Value);
        Assert.Equal(1.5, Single(families, "nv_model_load_duration_secs").Value);
        Assert.Equal(0, Single(families, "nv_inference_request_success").Value);

        observer.RequestDequeued();
        observer.BatchExecuted(3, Us, 100 * Us, Us);
        observer.RequestSucceeded(20 * Us, Us, 100 * Us, Us);
        statistics.InferenceSucceeded(3, 150 * Us);
        observer.RequestFailed(SchedulerFailure.Rejected, 5 * Us);
        statistics.InferenceFailed(6 * Us, reportedByScheduler: true);
        statistics.InferenceFailed(1 * Us, reportedByScheduler: false);

        families = Collect(collector);
        Assert.Equal(0, Single(families, "nv_inference_pending_request_count").Value);
        Assert.Equal(1, Single(families, "nv_inference_request_success").Value);
        Assert.Equal(3, Single(families, "nv_inference_count").Value);
        Assert.Equal(1, Single(families, "nv_inference_exec_count").Value);
        Assert.Equal(150, Single(families, "nv_inference_request_duration_us").Value, 6);
        Assert.Equal(20, Single(families, "nv_inference_queue_duration_us").Value, 6);
        Assert.Equal(100, Single(families, "nv_inference_compute_infer_duration_us").Value, 6);
        var failures = families["nv_inference_request_failure"].Series.ToDictionary(s => s.Labels.Single(l => l.Key == "reason").Value, s => s.Value);
        Assert.Equal(new Dictionary<string, double> { ["REJECTED"] = 1, ["OTHER"] = 1, ["BACKEND"] = 0, ["CANCELED"] = 0 }, failures);
        var batchSizes = Single(families, "nv_inference_batch_size_histogram");
        Assert.Equal(3, batchSizes.Sum);
        Assert.Equal(1, batchSizes.BucketCounts![2]); // the le=4 bucket

        Assert.All(families["nv_inference_count"].Series, s => Assert.Equal(
            [new KeyValuePair<string, string>("model", "m"), new("version", "2")], s.Labels));

        // Unloaded: the gauges go, the cumulative counters stay.
        statistics.Dispose();
        families = Collect(collector);
        Assert.Empty(families["nv_inference_pending_request_count"].Series);
        Assert.Empty(families["nv_model_load_duration_secs"].Series);
        Assert.Equal(1, Single(families, "nv_inference_request_success").Value);
    }

    [Fact]
    public void RecordingAllocatesNothingOnceWarm()
    {
        using var factory = new TestMeterFactory();
        using var collector = new MetricsCollector(factory);
        var statistics = new ModelStatistics("m", "1", maxBatchSize: 8, new InferenceMetrics(factory));
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
        Assert.Equal(1001, Single(Collect(collector), "nv_inference_request_success").Value);
    }

    private static Dictionary<string, MetricFamilySnapshot> Collect(MetricsCollector collector) =>
        collector.Collect().ToDictionary(f => f.Name);

    private static MetricSeriesSnapshot Single(Dictionary<string, MetricFamilySnapshot> families, string name) =>
        Assert.Single(families[name].Series);
}
