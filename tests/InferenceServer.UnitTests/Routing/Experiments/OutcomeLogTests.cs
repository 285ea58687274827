using InferenceServer.Core.Inference;
using InferenceServer.Core.Routing;
using InferenceServer.Core.Routing.Config;
using InferenceServer.Core.Routing.Experiments;

namespace InferenceServer.UnitTests.Routing.Experiments;

/// <summary>The window of recent request ids: joins, their errors, its bound, reused ids, and many writers at once.</summary>
public sealed class OutcomeLogTests
{
    /// <summary>An experiment as routing.pbtxt declares it, its defaults filled in by the reader.</summary>
    internal static Experiment Declared(string experiment = "")
    {
        var text = $$"""
            variant { name: "mlp" model: "income" weight: 50 }
            variant { name: "gbt" model: "income_gbt" weight: 50 }
            experiment { {{experiment}} }
            """;
        return RoutingConfigReader.Parse(text, "income_ab", besideModel: false).Config.Experiment;
    }

    private static OutcomeLog Log(uint window = 0, int variants = 2) =>
        new(variants, Declared(window == 0 ? "" : $"window: {window}"));

    [Fact]
    public void An_outcome_joins_the_variant_that_answered_and_is_summed_per_variant()
    {
        var log = Log();
        Assert.Equal((100_000, 2), (log.Window, log.VariantCount));
        log.Record("r1", 0);
        log.Record("r2", 1);
        log.Record("r3", 1);
        log.Record("r4", 0);

        Assert.Equal(0, log.Join("r1", Outcome.Conversion(true)));
        Assert.Equal(1, log.Join("r2", Outcome.Conversion(false)));
        Assert.Equal(1, log.Join("r3", Outcome.Conversion(true)));
        Assert.Equal(0, log.Join("r4", Outcome.Conversion(true)));

        var totals = log.Snapshot();
        Assert.Equal(new VariantOutcomes(Outcomes: 2, Conversions: 2, Labels: 0, LabelSum: 0, Predicted: 0, Correct: 0, AbsoluteErrorSum: 0), totals[0]);
        Assert.Equal(new VariantOutcomes(Outcomes: 2, Conversions: 1, Labels: 0, LabelSum: 0, Predicted: 0, Correct: 0, AbsoluteErrorSum: 0), totals[1]);
        Assert.Equal((1.0, 0.5), (totals[0].Rate, totals[1].Rate));
        Assert.Null(totals[0].MeanLabel);
        Assert.Null(totals[0].Accuracy);
    }

    [Fact]
    public void A_label_counts_towards_the_rate_the_mean_and_the_accuracy_against_the_prediction()
    {
        // The default threshold 0.5: 0.8 predicts 1, 0.3 predicts 0, 0.5 predicts 1 (at the threshold).
        var log = Log();
        log.Record("a", 0, 0.8);
        log.Record("b", 0, 0.3);
        log.Record("c", 0, 0.5);
        log.Record("d", 0); // no prediction: a label, but no accuracy
        log.Record("e", 0, double.NaN); // a NaN prediction counts as none
        log.Join("a", Outcome.Label(1)); // right, |0.8 - 1| = 0.2
        log.Join("b", Outcome.Label(1)); // wrong, 0.7
        log.Join("c", Outcome.Label(0)); // wrong, 0.5
        log.Join("d", Outcome.Label(0.75)); // positive (>= 0.5)
        log.Join("e", Outcome.Label(0));

        var totals = log.Snapshot()[0];
        Assert.Equal((5L, 3L, 5L, 3L, 1L), (totals.Outcomes, totals.Conversions, totals.Labels, totals.Predicted, totals.Correct));
        Assert.Equal(2.75 / 5, totals.MeanLabel!.Value, 12);
        Assert.Equal(1.0 / 3, totals.Accuracy!.Value, 12);
        Assert.Equal((0.2 + 0.7 + 0.5) / 3, totals.MeanAbsoluteError!.Value, 12);
        Assert.Equal(new VariantOutcomes(), log.Snapshot()[1]);
    }

    [Fact]
    public void The_prediction_threshold_of_the_declaration_decides_what_a_prediction_predicts()
    {
        var log = new OutcomeLog(1, Declared("prediction_threshold: 0.9"));
        log.Record("a", 0, 0.8); // below 0.9: predicts 0
        log.Join("a", Outcome.Label(0));
        Assert.Equal(1.0, log.Snapshot()[0].Accuracy);
    }

    [Fact]
    public void An_unknown_id_is_not_found_naming_the_id_and_the_window()
    {
        var log = Log(window: 500);
        var error = Assert.Throws<InferenceException>(() => log.Join("nope", Outcome.Conversion(true)));
        Assert.Equal(InferenceErrorKind.NotFound, error.Kind);
        Assert.Equal("request id 'nope' is not among the 500 most recent requests of this route's experiment: it was never answered by the route, or newer requests have pushed it out", error.Message);

        error = Assert.Throws<InferenceException>(() => log.Join("", Outcome.Conversion(true)));
        Assert.Equal(InferenceErrorKind.InvalidArgument, error.Kind);
        Assert.Equal("an outcome needs the id of the request it follows: the 'id' the response echoed", error.Message);
        Assert.Equal(new VariantOutcomes(), log.Snapshot()[0]);
    }

    [Fact]
    public void A_second_outcome_for_a_request_is_refused_and_counts_nothing()
    {
        var log = Log();
        log.Record("r1", 1);
        log.Join("r1", Outcome.Conversion(true));
        var error = Assert.Throws<InferenceException>(() => log.Join("r1", Outcome.Label(0)));
        Assert.Equal(InferenceErrorKind.InvalidArgument, error.Kind);
        Assert.Equal("request id 'r1' already has an outcome: each request takes one", error.Message);
        Assert.Equal((1L, 1L, 0L), (log.Snapshot()[1].Outcomes, log.Snapshot()[1].Conversions, log.Snapshot()[1].Labels));
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void A_label_that_is_not_a_finite_number_is_refused(double label)
    {
        var error = Assert.Throws<InferenceException>(() => Outcome.Label(label));
        Assert.Equal(InferenceErrorKind.InvalidArgument, error.Kind);
        Assert.StartsWith("outcome label ", error.Message);
        Assert.EndsWith(" is not a number an experiment can average: give a finite value", error.Message);
    }

    [Fact]
    public void The_window_keeps_the_most_recent_ids_and_forgets_the_oldest()
    {
        var log = Log(window: 3);
        foreach (var id in new[] { "a", "b", "c", "d" })
        {
            log.Record(id, 0);
        }
        Assert.Equal(3, log.Count);
        Assert.Equal(InferenceErrorKind.NotFound, Assert.Throws<InferenceException>(() => log.Join("a", Outcome.Conversion(true))).Kind);
        foreach (var id in new[] { "b", "c", "d" })
        {
            log.Join(id, Outcome.Conversion(true));
        }
        Assert.Equal(3, log.Snapshot()[0].Outcomes);
    }

    [Fact]
    public void The_window_bounds_the_ids_held_however_many_requests_pass_and_past_its_first_growth()
    {
        // 5000 is more than the ring's first allocation, so the ring grows before it wraps.
        const int window = 5000;
        var log = Log(window: window);
        for (var i = 0; i < 4 * window + 17; i++)
        {
            log.Record($"r{i}", i % 2);
            Assert.True(log.Count <= window);
        }
        Assert.Equal(window, log.Count);
        var first = 3 * window + 17;
        Assert.Equal(InferenceErrorKind.NotFound, Assert.Throws<InferenceException>(() => log.Join($"r{first - 1}", Outcome.Conversion(true))).Kind);
        for (var i = first; i < 4 * window + 17; i++)
        {
            Assert.Equal(i % 2, log.Join($"r{i}", Outcome.Conversion(true)));
        }
        Assert.Equal(window, log.Snapshot()[0].Outcomes + log.Snapshot()[1].Outcomes);
    }

    [Fact]
    public void A_record_allocates_nothing_once_the_window_is_full()
    {
        // Every request of an experiment is recorded, so the record must not feed the GC: the ring and the map are
        // reused (a forgotten id's map entry takes the next one). The ids exist already, as a response's id does.
        var log = Log(window: 100);
        var ids = new string[1000];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = $"r{i}";
        }
        for (var i = 0; i < 200; i++)
        {
            log.Record(ids[i], i % 2, 0.5);
        }
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 200; i < ids.Length; i++)
        {
            log.Record(ids[i], i % 2, 0.5);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(100, log.Count);
    }

    [Fact]
    public void A_reused_id_belongs_to_the_later_request_until_that_one_is_forgotten()
    {
        var log = Log(window: 3);
        log.Record("x", 0);
        log.Record("x", 1); // the later request wins
        log.Record("a", 0);
        log.Record("b", 0); // overwrites the first "x": the later "x" stays joinable
        Assert.Equal(3, log.Count);
        Assert.Equal(1, log.Join("x", Outcome.Conversion(true)));
        log.Record("c", 0); // overwrites the later "x"
        Assert.Equal(InferenceErrorKind.NotFound, Assert.Throws<InferenceException>(() => log.Join("x", Outcome.Conversion(true))).Kind);
        Assert.Equal((0L, 1L), (log.Snapshot()[0].Outcomes, log.Snapshot()[1].Outcomes));
    }

    [Fact]
    public void A_request_that_reuses_an_id_with_an_outcome_takes_an_outcome_of_its_own()
    {
        var log = Log();
        log.Record("x", 0);
        log.Join("x", Outcome.Conversion(false));
        log.Record("x", 1);
        Assert.Equal(1, log.Join("x", Outcome.Conversion(true)));
        Assert.Throws<InferenceException>(() => log.Join("x", Outcome.Conversion(true)));
        Assert.Equal(1, log.Count);
    }

    [Fact]
    public void A_record_names_a_variant_of_the_route()
    {
        var log = Log();
        Assert.Throws<ArgumentOutOfRangeException>(() => log.Record("r", 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => log.Record("r", -1));
        Assert.ThrowsAny<ArgumentException>(() => log.Record("", 0));
        Assert.Equal(0, log.Count);
    }

    [Fact]
    public void Thirty_two_writers_at_once_lose_no_record_and_keep_exactly_the_window()
    {
        const int writers = 32;
        const int each = 2000;
        const int window = 1000;
        var wide = Log(window: writers * each);
        var narrow = Log(window: window);
        RunTogether(writers, w =>
        {
            for (var i = 0; i < each; i++)
            {
                wide.Record($"{w}-{i}", w % 2);
                narrow.Record($"{w}-{i}", w % 2);
            }
        });
        Assert.Equal(writers * each, wide.Count);
        Assert.Equal(window, narrow.Count);

        // Every writer's every id is still there in the wide log, on the right variant; joined by 32 at once too.
        RunTogether(writers, w =>
        {
            for (var i = 0; i < each; i++)
            {
                Assert.Equal(w % 2, wide.Join($"{w}-{i}", Outcome.Conversion(i % 4 == 0)));
            }
        });
        var totals = wide.Snapshot();
        Assert.Equal((writers / 2L * each, writers / 2L * each / 4), (totals[0].Outcomes, totals[0].Conversions));
        Assert.Equal((writers / 2L * each, writers / 2L * each / 4), (totals[1].Outcomes, totals[1].Conversions));
    }

    [Fact]
    public void Thirty_two_joiners_racing_for_the_same_ids_join_each_exactly_once()
    {
        const int joiners = 32;
        const int ids = 1000;
        var log = Log();
        for (var i = 0; i < ids; i++)
        {
            log.Record($"r{i}", 0);
        }
        var refused = 0;
        RunTogether(joiners, _ =>
        {
            for (var i = 0; i < ids; i++)
            {
                try
                {
                    log.Join($"r{i}", Outcome.Conversion(true));
                }
                catch (InferenceException e) when (e.Kind == InferenceErrorKind.InvalidArgument)
                {
                    Interlocked.Increment(ref refused);
                }
            }
        });
        Assert.Equal(ids, log.Snapshot()[0].Outcomes);
        Assert.Equal((joiners - 1) * ids, refused);
    }

    /// <summary>Runs <paramref name="work"/> on <paramref name="threads"/> threads released together.</summary>
    private static void RunTogether(int threads, Action<int> work)
    {
        using var start = new Barrier(threads);
        var running = new Thread[threads];
        var failures = new Exception?[threads];
        for (var t = 0; t < threads; t++)
        {
            var index = t;
            running[t] = new Thread(() =>
            {
                try
                {
                    start.SignalAndWait();
                    work(index);
                }
                catch (Exception e)
                {
                    failures[index] = e;
                }
            });
            running[t].Start();
        }
        foreach (var thread in running)
        {
            thread.Join();
        }
        foreach (var failure in failures)
        {
            Assert.Null(failure);
        }
    }
}
