using InferenceServer.Core.Inference;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Scheduling;
using InferenceServer.Core.Tensors;

namespace InferenceServer.UnitTests.Scheduling;

/// <summary>
/// When shedding load ends (issue 12, defect 4, as the 30-minute soak found it): a stall of the machine starts it, and
/// it must end once demand fits the model's capacity again, judged by the spare capacity the arrivals find, not by the
/// refusals that the small bound itself causes under a load the model keeps up with; a sustained overload keeps it on.
/// One instance, the server's default of one batch per instance; the fake clock stands in for time.
/// </summary>
public sealed class SheddingTests
{
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(2);

    private static DynamicBatchHarness WithoutBatching() => new(0, new ModelDynamicBatching(), queueDefaults: new QueueDefaults(1, 0));

    /// <summary>The stall: the instance hangs on request 1 while request 2 waits past ShedAfter; request 3 is refused, and the level sheds.</summary>
    private static async Task StallAsync(DynamicBatchHarness h)
    {
        var stalled = await h.BlockInstanceAsync(1, 1);
        var waiting = h.Send(2);
        h.Clock.Advance(QueueDefaults.ShedAfter);
        var refused = await Assert.ThrowsAsync<InferenceException>(() => h.Send(3));
        Assert.Contains("is overloaded", refused.Message);
        h.Instance.Open();
        DynamicBatchHarness.AssertAddedOne(await stalled, 1);
        DynamicBatchHarness.AssertAddedOne(await waiting, 2);
        await h.Instance.WaitForRunStartAsync();
    }

    // Admission before a request is read (the REST endpoints ask before reading the body): the same decision, counted once.
    [Fact]
    public async Task Before_reading_a_request_is_refused_only_while_the_level_sheds_at_its_bound_and_the_refusal_is_counted()
    {
        await using var h = WithoutBatching();
        Assert.Null(h.Scheduler.RefuseBeforeReading());
        var stalled = await h.BlockInstanceAsync(1, 1);
        var waiting = h.Send(2);
        // Full but draining (a burst): not refused before reading; ScheduleAsync decides.
        Assert.Null(h.Scheduler.RefuseBeforeReading());
        Assert.Empty(h.Observer.Failures);
        h.Clock.Advance(QueueDefaults.ShedAfter);
        var thrown = await Assert.ThrowsAsync<InferenceException>(() => h.Send(3));

        var refusal = h.Scheduler.RefuseBeforeReading();

        Assert.NotNull(refusal);
        Assert.Contains("is overloaded", refusal);
        Assert.Contains("retry later", refusal);
        // Built once while the bound and the instances stay, not per refusal: the very same string, which lets the REST
        // endpoint reuse the error body it encoded from it.
        Assert.Same(thrown.Message, refusal);
        Assert.Equal([SchedulerFailure.Rejected, SchedulerFailure.Rejected], h.Observer.Failures);
        // Once the waiting request runs there is room: the next one is looked at, not counted, and queued.
        h.Instance.Open();
        DynamicBatchHarness.AssertAddedOne(await stalled, 1);
        DynamicBatchHarness.AssertAddedOne(await waiting, 2);
        await h.Instance.WaitForRunStartAsync();
        Assert.Null(h.Scheduler.RefuseBeforeReading());
        Assert.Equal(2, h.Observer.Failures.Length);
    }

    [Fact]
    public async Task Before_reading_a_configured_max_queue_size_refuses_once_full_and_priority_levels_are_left_to_the_body()
    {
        await using (var h = new DynamicBatchHarness(0, new ModelDynamicBatching { DefaultQueuePolicy = new ModelQueuePolicy { MaxQueueSize = 1 } }))
        {
            var stalled = await h.BlockInstanceAsync(1, 1);
            var waiting = h.Send(2);
            Assert.Contains("queue is full (max_queue_size 1)", h.Scheduler.RefuseBeforeReading());
            h.Instance.Open();
            await stalled;
            await waiting;
        }
        await using (var h = new DynamicBatchHarness(0, new ModelDynamicBatching
        {
            PriorityLevels = 2,
            DefaultPriorityLevel = 2,
            PriorityQueuePolicy = { [2] = new ModelQueuePolicy { MaxQueueSize = 1 } },
        }))
        {
            var stalled = await h.BlockInstanceAsync(1, 1);
            var waiting = h.Send(2);
            // The default level is full, but a request may name level 1 in its body.
            Assert.Null(h.Scheduler.RefuseBeforeReading());
            h.Instance.Open();
            await stalled;
            await waiting;
        }
    }

    [Fact]
    public async Task After_a_stall_a_load_the_model_keeps_up_with_ends_the_shedding_within_a_second_and_nothing_more_is_refused()
    {
        await using var h = WithoutBatching();
        await StallAsync(h);
        var start = h.Clock.Elapsed;

        // 60% load: every 10 ms five requests arrive; the first finds the instance idle and holds it, the second waits
        // behind it, the third arrives while the second waits, and the last two find the instance idle again. The bound
        // of one waiting request refuses the third while the level sheds; the old rule ("1 s without a refusal") never
        // let that end, whatever the load.
        var refusedAt = new List<TimeSpan>();
        var id = 10;
        while (h.Clock.Elapsed - start < 2 * QueueDefaults.QuietFor)
        {
            h.Instance.Close();
            var running = h.Send(id);
            await h.Instance.WaitForRunStartAsync();
            h.Clock.Advance(Step);
            var waiting = h.Send(id + 1);
            h.Clock.Advance(Step);
            var behind = h.Send(id + 2);
            // Refused at once, or queued: nothing in between.
            Assert.True(!behind.IsCompleted || behind.IsFaulted);
            h.Instance.Open();
            DynamicBatchHarness.AssertAddedOne(await running, id);
            DynamicBatchHarness.AssertAddedOne(await waiting, id + 1);
            await h.Instance.WaitForRunStartAsync();
            if (behind.IsFaulted)
            {
                var refusal = await Assert.ThrowsAsync<InferenceException>(() => behind);
                Assert.Equal(InferenceErrorKind.Unavailable, refusal.Kind);
                refusedAt.Add(h.Clock.Elapsed - start);
            }
            else
            {
                DynamicBatchHarness.AssertAddedOne(await behind, id + 2);
                await h.Instance.WaitForRunStartAsync();
            }
            for (var idle = 3; idle < 5; idle++)
            {
                h.Clock.Advance(Step);
                DynamicBatchHarness.AssertAddedOne(await h.Send(id + idle), id + idle);
                await h.Instance.WaitForRunStartAsync();
            }
            h.Clock.Advance(Step);
            id += 5;
        }

        // Shedding was on when the load began, and ended within a window or so; in the second after that nothing was refused.
        Assert.NotEmpty(refusedAt);
        Assert.All(refusedAt, at => Assert.True(at < QueueDefaults.QuietFor, $"refused at {at.TotalMilliseconds} ms into the load"));
        Assert.Equal(1 + refusedAt.Count, h.Observer.Failures.Length);
    }

    [Fact]
    public async Task A_sustained_overload_keeps_shedding_refusing_the_excess_at_once_with_the_accepted_waiting_at_most_one_run()
    {
        await using var h = WithoutBatching();
        // Runs take 3 ms (the test releases them one at a time) and a request arrives every millisecond: 3× capacity.
        h.Instance.Close();
        var first = h.Send(1);
        await h.Instance.WaitForRunStartAsync();
        var accepted = new List<(Task<Tensor[]> Response, int Id)> { (first, 1), (h.Send(2), 2) };
        h.Clock.Advance(QueueDefaults.ShedAfter);
        var arrivals = 0;
        var refused = 0;
        var id = 3;
        var start = h.Clock.Elapsed;
        while (h.Clock.Elapsed - start < 2 * QueueDefaults.QuietFor)
        {
            for (var i = 0; i < 3; i++, id++)
            {
                h.Clock.Advance(TimeSpan.FromMilliseconds(1));
                var response = h.Send(id);
                arrivals++;
                if (response.IsFaulted)
                {
                    Assert.Equal(InferenceErrorKind.Unavailable, (await Assert.ThrowsAsync<InferenceException>(() => response)).Kind);
                    refused++;
                }
                else
                {
                    Assert.False(response.IsCompleted);
                    accepted.Add((response, id));
                }
            }
            // The run ends; the request that waited starts at once.
            h.Instance.ReleaseHeld();
            await h.Instance.WaitForRunStartAsync();
        }
        h.Instance.Open();
        foreach (var (response, acceptedId) in accepted)
        {
            DynamicBatchHarness.AssertAddedOne(await response, acceptedId);
        }

        // Two of every three arrivals were refused for the whole two seconds (all three at first, when one already waited):
        // one waits while one runs, the rest go.
        Assert.Equal((2 * arrivals / 3) + 1, refused);
        // Past the request that waited out the stall, none waited longer than the run ahead of it.
        var queueTimes = h.Observer.QueueTimes;
        Assert.Equal(accepted.Count, queueTimes.Length);
        Assert.All(queueTimes.Skip(2), waited => Assert.True(waited <= TimeSpan.FromMilliseconds(3), $"waited {waited.TotalMilliseconds} ms"));
    }

    [Fact]
    public async Task A_pause_in_arrivals_ends_the_shedding_so_a_later_burst_is_queued_whole()
    {
        await using var h = WithoutBatching();
        await StallAsync(h);

        h.Clock.Advance(QueueDefaults.QuietFor);
        var blocker = await h.BlockInstanceAsync(10, 1);
        var burst = Enumerable.Range(11, 5).Select(id => h.Send(id)).ToArray();
        Assert.All(burst, request => Assert.False(request.IsCompleted));
        h.Instance.Open();
        DynamicBatchHarness.AssertAddedOne(await blocker, 10);
        foreach (var (request, id) in burst.Select((request, i) => (request, i + 11)))
        {
            DynamicBatchHarness.AssertAddedOne(await request, id);
        }
        Assert.Single(h.Observer.Failures);
    }

    [Fact]
    public async Task A_batcher_that_keeps_up_with_partial_batches_back_to_back_ends_the_shedding_though_it_never_idles()
    {
        await using var h = new DynamicBatchHarness(4, new ModelDynamicBatching(), queueDefaults: new QueueDefaults(1, 0));
        // The stall: a batch hangs while a full batch waits past ShedAfter; what comes next is refused, and the level sheds.
        var blocker = await h.BlockInstanceAsync(99, 4);
        var accepted = Enumerable.Range(1, 4).Select(id => (Response: h.Send(id), Id: id)).ToList();
        h.Clock.Advance(QueueDefaults.ShedAfter);
        await Assert.ThrowsAsync<InferenceException>(() => h.Send(5));
        h.Instance.ReleaseHeld();
        await h.Instance.WaitForRunStartAsync();

        // Two requests arrive during each run, and the instance takes both as soon as it finishes: it is never idle, but
        // each batch has room to spare and empties the queue.
        var id = 10;
        var start = h.Clock.Elapsed;
        while (h.Clock.Elapsed - start < QueueDefaults.QuietFor)
        {
            for (var i = 0; i < 2; i++, id++)
            {
                h.Clock.Advance(Step);
                accepted.Add((h.Send(id), id));
            }
            h.Instance.ReleaseHeld();
            await h.Instance.WaitForRunStartAsync();
        }

        // No longer shedding: a burst beyond the bound of one batch is queued whole.
        var burst = Enumerable.Range(id, 6).Select(burstId => (Response: h.Send(burstId), Id: burstId)).ToArray();
        Assert.All(burst, request => Assert.False(request.Response.IsCompleted));
        h.Instance.Open();
        DynamicBatchHarness.AssertAddedOne(await blocker, 99, rows: 4);
        foreach (var (response, acceptedId) in accepted.Concat(burst))
        {
            DynamicBatchHarness.AssertAddedOne(await response, acceptedId);
        }
        Assert.Single(h.Observer.Failures);
        Assert.DoesNotContain(h.Instance.BatchSizes.Skip(2).SkipLast(2), size => size > 2);
    }
}
