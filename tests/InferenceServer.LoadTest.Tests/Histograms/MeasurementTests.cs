using InferenceServer.LoadTest.Histograms;
using InferenceServer.LoadTest.Targets;

namespace InferenceServer.LoadTest.Tests.Histograms;

public sealed class MeasurementTests
{
    [Fact]
    public void Each_thread_records_into_its_own_shard_and_the_merge_sees_every_value()
    {
        using var measurement = new Measurement(TimeSpan.FromMilliseconds(1));
        const int threads = 6, perThread = 20_000;
        var start = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            for (var i = 0; i < perThread; i++)
            {
                measurement.RecordStart(i % 2 == 0 ? 0 : 2_000_000, openLoop: true);
                if (i % 100 == 0)
                {
                    measurement.RecordError(ErrorKey.Http(503), "busy");
                }
                else
                {
                    measurement.RecordSuccess(1_000_000 + i);
                }
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());

        var (latency, lateness, sent, late, errors, _) = measurement.Merge();
        Assert.Equal(threads, measurement.Shards.Count);
        Assert.Equal(threads * perThread, sent);
        Assert.Equal(threads * perThread / 2, late);
        Assert.Equal(threads * perThread / 100, errors);
        Assert.Equal(threads * perThread - errors, latency.Count);
        Assert.Equal(threads * perThread, lateness.Count);
        var error = Assert.Single(measurement.ErrorCounts());
        Assert.Equal(ErrorKey.Http(503), error.Kind);
        Assert.Equal(errors, error.Count);
        Assert.Equal("busy", error.Sample);
    }

    [Fact]
    public void Errors_are_counted_by_kind_most_frequent_first_with_the_first_message_of_each()
    {
        using var measurement = new Measurement(TimeSpan.FromMilliseconds(1));
        measurement.RecordError(ErrorKey.Timeout, "first timeout");
        measurement.RecordError(ErrorKey.Grpc(global::Grpc.Core.StatusCode.Unavailable), "down");
        measurement.RecordError(ErrorKey.Timeout, "second timeout");

        var counts = measurement.ErrorCounts();
        Assert.Equal([ErrorKey.Timeout, ErrorKey.Grpc(global::Grpc.Core.StatusCode.Unavailable)], counts.Select(c => c.Kind));
        Assert.Equal(2, counts[0].Count);
        Assert.Equal("first timeout", counts[0].Sample);
        Assert.Equal("timeout", counts[0].Kind.ToString());
        Assert.Equal("gRPC UNAVAILABLE", counts[1].Kind.ToString());
    }
}
