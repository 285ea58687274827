using InferenceServer.Core.Inference;
using InferenceServer.Core.Routing.Rollouts;
using Microsoft.Extensions.Logging;

namespace InferenceServer.UnitTests.Routing.Rollouts;

/// <summary>
/// The rollout controller driven by recorded requests on the fake clock: promotion step by step, rollback on each
/// gate within one window, no judgment before min_requests, the operator's pause, resume, promote and abort.
/// </summary>
public sealed class RolloutControllerTests
{
    // The declared defaults: 60 s and 100 requests a step, +1 point of errors, p99 ratio 1.5.
    private const string Steps = "canary: \"canary\" steps: [5, 25, 50, 100]";

    [Fact]
    public void A_healthy_canary_is_promoted_through_every_step_to_all_the_traffic()
    {
        using var rollout = new RolloutHarness(Steps);
        Assert.Equal([5u], rollout.Percents);
        Assert.Equal((RolloutState.Progressing, 1, 5u), (rollout.Status.State, rollout.Status.Step, rollout.Status.CanaryPercent));

        foreach (var (step, next) in new[] { (1, 25u), (2, 50u), (3, 100u) })
        {
            rollout.Canary(150);
            rollout.Baseline(600);
            rollout.Seconds(59);
            // The gates pass but the step has not lasted min_step_seconds.
            Assert.Equal(step, rollout.Status.Step);
            Assert.Equal($"the step has run 59 of its 60 s", rollout.Status.Waiting);
            rollout.Seconds(1);
            Assert.Equal(next, rollout.Status.CanaryPercent);
        }

        var status = rollout.Status;
        Assert.Equal([5u, 25u, 50u, 100u], rollout.Percents);
        Assert.Equal((RolloutState.Promoted, 3L, 0L), (status.State, status.Promotions, status.Rollbacks));
        Assert.Equal([RolloutEventKind.Started, RolloutEventKind.Promoted, RolloutEventKind.Promoted, RolloutEventKind.Promoted], status.History.Select(e => e.Kind));
        Assert.Equal([(0u, 5u), (5u, 25u), (25u, 50u), (50u, 100u)], status.History.Select(e => (e.FromPercent, e.ToPercent)));
        Assert.Equal(rollout.Clock.GetUtcNow(), status.History[^1].Time);
        Assert.StartsWith("to step 2 of 4: gates passed over 150 canary requests in 60 s: error rate 0% vs 0%, p99 ", status.History[1].Reason);
        Assert.EndsWith("; the last step: the canary takes all the traffic", status.History[3].Reason);
        Assert.Contains(rollout.Logged(LogLevel.Information), m => m.StartsWith("Route 'income': promoted variant 'canary' from 5% to 25%: gates passed over 150 canary requests", StringComparison.Ordinal));
        Assert.Contains("Route 'income': variant 'canary' is fully promoted and takes all the traffic", rollout.Logged(LogLevel.Information));

        // Over: the timer is stopped, the last step's figures stay, and nothing recorded or judged changes them.
        Assert.Equal(0, rollout.Clock.ArmedTimers);
        Assert.Equal(150, status.Canary.Requests);
        rollout.Canary(1000, failEvery: 1);
        rollout.Seconds(120);
        Assert.Equal(status.Canary, rollout.Status.Canary);
        Assert.Equal([5u, 25u, 50u, 100u], rollout.Percents);
    }

    [Fact]
    public void A_canary_failing_5_percent_of_its_requests_is_rolled_back_within_one_window()
    {
        using var rollout = new RolloutHarness(Steps);
        rollout.Baseline(2000);
        rollout.Canary(100, failEvery: 20);
        rollout.Seconds(1);

        var status = rollout.Status;
        Assert.Equal([5u, 0u], rollout.Percents);
        Assert.Equal((RolloutState.RolledBack, 0u, 1L, 0L), (status.State, status.CanaryPercent, status.Rollbacks, status.Promotions));
        var rollback = status.History[^1];
        Assert.Equal((RolloutEventKind.RolledBack, 5u, 0u), (rollback.Kind, rollback.FromPercent, rollback.ToPercent));
        Assert.Equal("error rate gate: the canary's error rate 5% (5 of 100 requests) is more than the baseline's 0% (0 of 2000) + 1%", rollback.Reason);
        Assert.Equal($"Route 'income': rolled variant 'canary' back to 0%: {rollback.Reason}", Assert.Single(rollout.Logged(LogLevel.Warning)));
        Assert.Equal(0, rollout.Clock.ArmedTimers);
        Assert.Null(status.Waiting);
    }

    [Fact]
    public void The_error_gate_allows_the_declared_increase_over_the_baseline()
    {
        // The baseline fails 2%; the canary's 2% is more than the 1 point allowed alone, within 2% + 1 point.
        using var rollout = new RolloutHarness(Steps);
        rollout.Baseline(1000, failEvery: 50);
        rollout.Canary(100, failEvery: 50);
        rollout.Seconds(60);
        Assert.Equal([5u, 25u], rollout.Percents);

        // 5% against the baseline's 2% + 1 point: rolled back.
        rollout.Baseline(1000, failEvery: 50);
        rollout.Canary(100, failEvery: 20);
        rollout.Seconds(1);
        Assert.Equal([5u, 25u, 0u], rollout.Percents);
        Assert.Contains("5% (5 of 100 requests) is more than the baseline's 2% (20 of 1000) + 1%", rollout.Status.History[^1].Reason);
    }

    [Fact]
    public void A_canary_20_ms_slower_is_rolled_back_on_its_p99_ratio()
    {
        using var rollout = new RolloutHarness(Steps);
        rollout.Baseline(2000, ms: 2);
        for (var i = 0; i < 100; i++)
        {
            rollout.Controller.Record(RolloutHarness.CanaryIndex, true, TimeSpan.FromMilliseconds(2 + (i % 10) * 0.1 + 20));
        }
        rollout.Seconds(1);

        var status = rollout.Status;
        Assert.Equal([5u, 0u], rollout.Percents);
        Assert.Equal(RolloutState.RolledBack, status.State);
        Assert.Matches(@"^latency gate: the canary's p99 22\.\d+ ms is \d+(\.\d+)? times the baseline's 2\.\d+ ms, more than 1\.5$", status.History[^1].Reason);
        Assert.InRange(status.Canary.P99Ms, 22, 23);
        Assert.InRange(status.Baseline.P99Ms, 2, 3.1);
    }

    [Fact]
    public void A_canary_within_the_p99_ratio_passes()
    {
        using var rollout = new RolloutHarness(Steps + " max_p99_ratio: 2");
        rollout.Baseline(1000, ms: 10);
        rollout.Canary(100, ms: 18);
        rollout.Seconds(60);
        Assert.Equal([5u, 25u], rollout.Percents);
    }

    [Fact]
    public void Decision_flips_of_the_shadowed_canary_roll_it_back_counted_from_the_steps_start()
    {
        // Before the rollout began: a share of flips that would fail the gate, were it not counted per step.
        using var rollout = new RolloutHarness(Steps + " max_decision_flip_rate: 0.05", shadowed: true, decisions: 1000, flips: 500);

        rollout.Canary(100);
        rollout.Baseline(1000);
        rollout.Seconds(1);
        Assert.Equal("the shadow has compared 0 of the 100 decisions the flip gate needs", rollout.Status.Waiting);
        Assert.Equal((0L, 0L), (rollout.Status.Decisions, rollout.Status.Flips));
        rollout.Decisions += 200;
        rollout.Flips += 4;
        rollout.Seconds(59);
        Assert.Equal([5u, 25u], rollout.Percents);
        Assert.EndsWith(", 4 flips in 200 decisions", rollout.Status.History[^1].Reason);

        rollout.Canary(100);
        rollout.Baseline(1000);
        rollout.Decisions += 100;
        rollout.Flips += 20;
        rollout.Seconds(1);
        Assert.Equal([5u, 25u, 0u], rollout.Percents);
        Assert.Equal("decision flip gate: 20% of the canary's decisions (20 of 100) differ from the baseline's, more than 5%", rollout.Status.History[^1].Reason);
    }

    [Fact]
    public void No_gate_is_judged_before_the_canary_has_min_requests_in_the_step()
    {
        using var rollout = new RolloutHarness(Steps);
        rollout.Baseline(2000);
        rollout.Canary(99, failEvery: 2);
        rollout.Seconds(120);
        Assert.Equal([5u], rollout.Percents);
        Assert.Equal(RolloutState.Progressing, rollout.Status.State);
        Assert.Equal("the canary has answered 99 of the 100 requests a step needs before its gates are judged", rollout.Status.Waiting);
        Assert.Equal((99L, 49L), (rollout.Status.Canary.Requests, rollout.Status.Canary.Failures));

        rollout.Canary(1);
        rollout.Seconds(1);
        Assert.Equal([5u, 0u], rollout.Percents);
    }

    [Fact]
    public void A_baseline_with_too_few_samples_holds_the_latency_gate_but_does_not_excuse_errors()
    {
        using var rollout = new RolloutHarness(Steps);
        rollout.Baseline(10, ms: 1);
        rollout.Canary(100, ms: 50);
        rollout.Seconds(120);
        // Neither rolled back on a p99 of ten samples nor promoted without one.
        Assert.Equal([5u], rollout.Percents);
        Assert.Equal("the baseline has 10 of the 100 successful requests its p99 latency is compared with", rollout.Status.Waiting);
        rollout.Baseline(100, ms: 1);
        rollout.Seconds(1);
        Assert.Equal([5u, 0u], rollout.Percents);
        Assert.StartsWith("latency gate: ", rollout.Status.History[^1].Reason);

        // A baseline failing half of its few requests: the canary's 2% is judged against 0 + 1 point.
        using var errors = new RolloutHarness(Steps);
        errors.Baseline(10, failEvery: 2);
        errors.Canary(100, failEvery: 50);
        errors.Seconds(1);
        Assert.Equal([5u, 0u], errors.Percents);
        Assert.Equal("error rate gate: the canary's error rate 2% (2 of 100 requests) is more than 0 (the baseline has only 10 requests) + 1%", errors.Status.History[^1].Reason);
    }

    [Fact]
    public void Each_step_is_judged_on_fresh_windows()
    {
        using var rollout = new RolloutHarness(Steps);
        // Step 1: 1% errors (within the allowance) and slow, but no slower than the baseline.
        rollout.Baseline(1000, ms: 10);
        rollout.Canary(100, failEvery: 100, ms: 10);
        rollout.Seconds(60);
        Assert.Equal([5u, 25u], rollout.Percents);
        var fresh = rollout.Status;
        Assert.Equal((0L, 0L, 0L), (fresh.Canary.Requests, fresh.Canary.Failures, fresh.Canary.LatencySamples));
        Assert.Equal((0L, 0L), (fresh.Baseline.Requests, fresh.Baseline.LatencySamples));
        Assert.Equal(TimeSpan.Zero, fresh.StepElapsed);
        Assert.Equal(rollout.Clock.GetUtcNow(), fresh.StepStarted);

        // Step 2: another failure would make 2 of 200 over two steps; in this step it is 1 of 100, and fast.
        rollout.Baseline(1000, ms: 2);
        rollout.Canary(100, failEvery: 100, ms: 2);
        rollout.Seconds(30);
        var second = rollout.Status;
        Assert.Equal((100L, 1L), (second.Canary.Requests, second.Canary.Failures));
        Assert.InRange(second.Canary.P99Ms, 2, 3.1);
        Assert.Equal(TimeSpan.FromSeconds(30), second.StepElapsed);
        rollout.Seconds(30);
        Assert.Equal([5u, 25u, 50u], rollout.Percents);
    }

    [Fact]
    public void Requests_to_other_variants_are_not_counted()
    {
        using var rollout = new RolloutHarness(Steps);
        rollout.Answer(RolloutHarness.Other, 1000, failEvery: 1, ms: 100);
        rollout.Seconds(5);
        var status = rollout.Status;
        Assert.Equal((0L, 0L), (status.Canary.Requests, status.Baseline.Requests));
        Assert.Equal([5u], rollout.Percents);
    }

    [Fact]
    public void Paused_the_step_holds_but_a_failing_gate_still_rolls_back()
    {
        using var rollout = new RolloutHarness(Steps);
        var paused = rollout.Controller.Pause();
        Assert.Equal(RolloutState.Paused, paused.State);
        rollout.Baseline(1000);
        rollout.Canary(100);
        rollout.Seconds(120);
        Assert.Equal([5u], rollout.Percents);
        Assert.Equal("paused by an operator: the gates may roll the canary back but not promote it", rollout.Status.Waiting);
        var again = Assert.Throws<InferenceException>(() => rollout.Controller.Pause());
        Assert.Equal((InferenceErrorKind.InvalidArgument, "the rollout of route 'income' cannot be paused: it is paused, and only a progressing rollout can be"), (again.Kind, again.Message));

        Assert.Equal(RolloutState.Progressing, rollout.Controller.Resume().State);
        rollout.Seconds(1);
        // The step had lasted long enough while paused.
        Assert.Equal([5u, 25u], rollout.Percents);

        rollout.Controller.Pause();
        rollout.Baseline(1000);
        rollout.Canary(100, failEvery: 10);
        rollout.Seconds(1);
        Assert.Equal([5u, 25u, 0u], rollout.Percents);
        Assert.Equal(RolloutState.RolledBack, rollout.Status.State);
        Assert.Equal([RolloutEventKind.Started, RolloutEventKind.Paused, RolloutEventKind.Resumed, RolloutEventKind.Promoted, RolloutEventKind.Paused, RolloutEventKind.RolledBack],
            rollout.Status.History.Select(e => e.Kind));
        Assert.Contains("Route 'income': rollout paused at 5% by an operator", rollout.Logged(LogLevel.Information));
        Assert.Contains("Route 'income': rollout resumed at 5% by an operator", rollout.Logged(LogLevel.Information));
    }

    [Fact]
    public void Promote_moves_to_the_next_step_at_once_with_fresh_windows_and_finishes_at_the_last()
    {
        using var rollout = new RolloutHarness(Steps);
        rollout.Canary(10, failEvery: 2);
        var promoted = rollout.Controller.Promote();
        Assert.Equal((RolloutState.Progressing, 2, 25u, 0L), (promoted.State, promoted.Step, promoted.CanaryPercent, promoted.Canary.Requests));
        Assert.Equal("to step 2 of 4: by an operator", promoted.History[^1].Reason);

        // A paused rollout promoted by hand stays paused at its new step.
        rollout.Controller.Pause();
        Assert.Equal((RolloutState.Paused, 50u), (rollout.Controller.Promote().State, rollout.Controller.CanaryPercent));
        var last = rollout.Controller.Promote();
        Assert.Equal((RolloutState.Promoted, 100u, 3L), (last.State, last.CanaryPercent, last.Promotions));
        Assert.Equal([5u, 25u, 50u, 100u], rollout.Percents);
        Assert.Equal("by an operator; the last step: the canary takes all the traffic", last.History[^1].Reason);
        var over = Assert.Throws<InferenceException>(() => rollout.Controller.Promote());
        Assert.Equal("the rollout of route 'income' cannot be promoted: it is promoted (finished), and only a progressing or paused rollout can be", over.Message);
    }

    [Fact]
    public void Abort_sets_the_canary_to_0_and_ends_the_rollout()
    {
        using var rollout = new RolloutHarness(Steps);
        rollout.Controller.Promote();
        var aborted = rollout.Controller.Abort();
        Assert.Equal((RolloutState.Aborted, 0u, 0L), (aborted.State, aborted.CanaryPercent, aborted.Rollbacks));
        Assert.Equal([5u, 25u, 0u], rollout.Percents);
        Assert.Equal((RolloutEventKind.Aborted, 25u, 0u, "by an operator"), (aborted.History[^1].Kind, aborted.History[^1].FromPercent, aborted.History[^1].ToPercent, aborted.History[^1].Reason));
        Assert.Contains("Route 'income': rollout of variant 'canary' aborted by an operator; the canary takes no traffic", rollout.Logged(LogLevel.Warning));
        Assert.Equal(0, rollout.Clock.ArmedTimers);

        foreach (var action in new Func<RolloutStatus>[] { rollout.Controller.Pause, rollout.Controller.Resume, rollout.Controller.Promote, rollout.Controller.Abort })
        {
            Assert.Contains("it is aborted (finished)", Assert.Throws<InferenceException>(action).Message);
        }
        Assert.Equal([5u, 25u, 0u], rollout.Percents);
    }

    [Fact]
    public void Declared_paused_it_waits_at_0_percent_until_resumed()
    {
        using var rollout = new RolloutHarness(Steps + " start_paused: true");
        var status = rollout.Status;
        Assert.Equal((RolloutState.Paused, 0, 0u), (status.State, status.Step, status.CanaryPercent));
        Assert.Equal([0u], rollout.Percents);
        Assert.Equal("declared to start paused: resume it to begin", status.Waiting);
        rollout.Canary(100);
        rollout.Baseline(1000);
        rollout.Seconds(120);
        Assert.Equal([0u], rollout.Percents);

        var resumed = rollout.Controller.Resume();
        Assert.Equal((RolloutState.Progressing, 1, 5u, 0L), (resumed.State, resumed.Step, resumed.CanaryPercent, resumed.Canary.Requests));
        Assert.Equal([0u, 5u], rollout.Percents);
        Assert.Equal([(RolloutEventKind.Started, 0u, 0u), (RolloutEventKind.Resumed, 0u, 5u)], resumed.History.Select(e => (e.Kind, e.FromPercent, e.ToPercent)));
        Assert.Equal("paused before the first step (5%), as declared", resumed.History[0].Reason);
    }

    [Fact]
    public void A_single_step_of_100_is_promoted_at_once()
    {
        using var rollout = new RolloutHarness("canary: \"canary\" steps: [100]");
        Assert.Equal([100u], rollout.Percents);
        Assert.Equal(RolloutState.Promoted, rollout.Status.State);
        Assert.Equal(0, rollout.Clock.ArmedTimers);
    }

    [Fact]
    public void A_weight_change_that_fails_changes_nothing_and_is_tried_again()
    {
        using var rollout = new RolloutHarness(Steps);
        rollout.Canary(100);
        rollout.Baseline(1000);
        rollout.Seconds(59);
        rollout.FailingSets = 1;
        rollout.Seconds(1);
        var status = rollout.Status;
        Assert.Equal((1, 5u, 0L), (status.Step, status.CanaryPercent, status.Promotions));
        Assert.Equal("Route 'income': judging the rollout's step failed", Assert.Single(rollout.Logger.Entries, e => e.Level == LogLevel.Error).Message);

        rollout.Seconds(1);
        Assert.Equal([5u, 25u], rollout.Percents);
        Assert.Equal([RolloutEventKind.Started, RolloutEventKind.Promoted], rollout.Status.History.Select(e => e.Kind));
    }

    [Fact]
    public void Disposed_it_stops_judging()
    {
        var rollout = new RolloutHarness(Steps);
        Assert.Equal(1, rollout.Clock.ArmedTimers);
        rollout.Dispose();
        Assert.Equal(0, rollout.Clock.ArmedTimers);
        rollout.Canary(100, failEvery: 1);
        rollout.Seconds(5);
        Assert.Equal([5u], rollout.Percents);
    }
}
