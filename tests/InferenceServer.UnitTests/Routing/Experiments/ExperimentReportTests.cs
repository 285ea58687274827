using InferenceServer.Core.Routing.Config;
using InferenceServer.Core.Routing.Experiments;

namespace InferenceServer.UnitTests.Routing.Experiments;

/// <summary>
/// The report built from a route's traffic and outcomes: each figure where it belongs, against numbers computed apart
/// (python3's statistics.NormalDist and math.erfc, the formulas in <see cref="ExperimentStatisticsTests"/>), and
/// "not enough data" instead of NaN when there is none.
/// </summary>
public sealed class ExperimentReportTests
{
    private static VariantOutcomes Conversions(long outcomes, long conversions) =>
        new(outcomes, conversions, Labels: 0, LabelSum: 0, Predicted: 0, Correct: 0, AbsoluteErrorSum: 0);

    private static void Close(double expected, double? actual)
    {
        Assert.NotNull(actual);
        Assert.True(Math.Abs(expected - actual.Value) <= 1e-9 * Math.Abs(expected) + 1e-15, $"expected {expected:R}, got {actual.Value:R}");
    }

    [Fact]
    public void A_variant_is_compared_with_the_control_by_rate_interval_difference_lift_p_value_and_mde()
    {
        VariantTraffic[] traffic =
        [
            new("mlp", "income", "1", 50, 5000, 5000),
            new("gbt", "income_gbt", null, 50, 5200, 5200),
        ];
        var report = ExperimentReport.Build("income_ab", traffic, [Conversions(1000, 200), Conversions(1000, 250)], OutcomeLogTests.Declared());

        Assert.Equal(("income_ab", "mlp", 0.05, 0.8, 100_000u), (report.Route, report.Control, report.Alpha, report.Power, report.Window));
        Assert.Equal(0.95, report.Confidence, 15);
        Assert.Null(report.Note);

        var control = report.Variants[0];
        Assert.Equal(("mlp", "income", "1", 50u, 5000L, 1000L, 200L), (control.Name, control.Model, control.Version, control.Weight, control.Requests, control.Outcomes, control.Conversions));
        Close(0.2, control.Rate);
        // Wilson 200/1000 at 95% (python3): (0.17637709044319852, 0.22591896464813463)
        Close(0.17637709044319852, control.CiLow);
        Close(0.22591896464813463, control.CiHigh);
        Assert.Equal((null, null, null, false, null, "control"), (control.Difference, control.Lift, control.PValue, control.Significant, control.MinimumDetectableEffect, control.Note));

        var variant = report.Variants[1];
        Assert.Equal(("gbt", "income_gbt", null), (variant.Name, variant.Model, variant.Version));
        Close(0.25, variant.Rate);
        // Wilson 250/1000 at 95%: (0.2241530989836914, 0.27776028025908617)
        Close(0.2241530989836914, variant.CiLow);
        Close(0.27776028025908617, variant.CiHigh);
        Close(0.05, variant.Difference);
        Close(0.25, variant.Lift);
        // The pooled z-test of 200/1000 vs 250/1000: 0.007419649261025693, below 0.05.
        Close(0.007419649261025693, variant.PValue);
        Assert.True(variant.Significant);
        Assert.Null(variant.Note);
        // MDE at p = 0.2 with 1000 and 1000 outcomes, alpha 0.05, power 0.8: 0.050116279939673374.
        Close(0.050116279939673374, variant.MinimumDetectableEffect);
        Close(0.050116279939673374, report.MinimumDetectableEffect);

        // The split: 5000 vs 5200 of 50/50, chi-square 3.9215686274509802, p 0.04767038065616147, no mismatch.
        Close(3.9215686274509802, report.SampleRatio.ChiSquare);
        Close(0.04767038065616147, report.SampleRatio.PValue);
        Assert.False(report.SampleRatio.Mismatch);
    }

    [Fact]
    public void The_experiment_mde_is_the_largest_of_the_comparisons_and_an_equal_rate_is_not_significant()
    {
        VariantTraffic[] traffic =
        [
            new("a", "m", "1", 1, 250, 250),
            new("b", "m", "2", 1, 250, 250),
            new("c", "m", "3", 2, 500, 500),
        ];
        var config = new Experiment { Control = "a", Window = 1000, PredictionThreshold = 0.5, Alpha = 0.05, Power = 0.8 };
        var report = ExperimentReport.Build("r", traffic, [Conversions(1000, 200), Conversions(1000, 250), Conversions(500, 100)], config);

        var equal = report.Variants[2];
        Close(0.2, equal.Rate);
        // Wilson 100/500 at 95%: (0.16728549897175743, 0.23728910530517394)
        Close(0.16728549897175743, equal.CiLow);
        Close(0.23728910530517394, equal.CiHigh);
        Assert.Equal((0.0, 0.0, 1.0, false), (equal.Difference, equal.Lift, equal.PValue, equal.Significant));
        // With 500 outcomes against the control's 1000: 0.06137965682934015, more than b's 0.050116279939673374.
        Close(0.06137965682934015, equal.MinimumDetectableEffect);
        Close(0.050116279939673374, report.Variants[1].MinimumDetectableEffect);
        Close(0.06137965682934015, report.MinimumDetectableEffect);
        // 250/250/500 of 1:1:2 is the promised split exactly.
        Assert.Equal(0.0, report.SampleRatio.ChiSquare);
        Close(1, report.SampleRatio.PValue);
        Assert.False(report.SampleRatio.Mismatch);
    }

    [Fact]
    public void Without_outcomes_every_figure_is_null_with_a_note_never_NaN()
    {
        VariantTraffic[] traffic = [new("mlp", "income", null, 50, 0, 0), new("gbt", "income_gbt", null, 50, 0, 0)];
        var report = ExperimentReport.Build("income_ab", traffic, [default, default], OutcomeLogTests.Declared());

        foreach (var variant in report.Variants)
        {
            Assert.Equal((0L, 0L, 0L), (variant.Outcomes, variant.Conversions, variant.Labels));
            double?[] figures =
            [
                variant.Rate, variant.CiLow, variant.CiHigh, variant.MeanLabel, variant.Accuracy, variant.MeanAbsoluteError,
                variant.Difference, variant.Lift, variant.PValue, variant.MinimumDetectableEffect,
            ];
            Assert.All(figures, figure => Assert.Null(figure));
            Assert.False(variant.Significant);
        }
        Assert.Equal("control", report.Variants[0].Note);
        Assert.Equal("not enough data: no outcomes yet", report.Variants[1].Note);
        Assert.Null(report.MinimumDetectableEffect);
        Assert.Equal("not enough data: the check needs at least 5 expected requests for every weighted variant", report.SampleRatio.Note);
    }

    [Fact]
    public void A_comparison_says_why_it_has_no_p_value()
    {
        VariantTraffic[] traffic = [new("mlp", "income", "1", 50, 100, 100), new("gbt", "income_gbt", "1", 50, 100, 100)];
        var config = OutcomeLogTests.Declared();

        var noControl = ExperimentReport.Build("income_ab", traffic, [default, Conversions(40, 10)], config).Variants[1];
        Assert.Equal("not enough data: no outcomes yet for the control 'mlp'", noControl.Note);
        Assert.Equal((null, null, null, null), (noControl.Difference, noControl.Lift, noControl.PValue, noControl.MinimumDetectableEffect));
        Close(0.25, noControl.Rate);

        // 3 of 3 against 0 of 3: a difference and an interval, but six outcomes are no z-test.
        var few = ExperimentReport.Build("income_ab", traffic, [Conversions(3, 0), Conversions(3, 3)], config);
        var variant = few.Variants[1];
        Assert.Equal("not enough data: the z-test needs at least 5 expected conversions and as many non-conversions for this variant and for the control", variant.Note);
        Assert.Equal((1.0, null, null, false), (variant.Difference, variant.Lift, variant.PValue, variant.Significant));
        // Wilson 3/3 at 95%: (0.4385029682449546, 1); the control's rate is 0, so there is no lift and no MDE.
        Close(0.4385029682449546, variant.CiLow);
        Assert.Equal(1.0, variant.CiHigh);
        Assert.Null(variant.MinimumDetectableEffect);
        Assert.Null(few.MinimumDetectableEffect);
    }

    [Fact]
    public void A_route_of_one_variant_reports_it_and_says_there_is_nothing_to_compare()
    {
        var config = new Experiment { Control = "only", Window = 10, PredictionThreshold = 0.5, Alpha = 0.1, Power = 0.9 };
        var report = ExperimentReport.Build("solo", [new VariantTraffic("only", "m", "3", 1, 12, 12)], [Conversions(10, 4)], config);

        Assert.Equal("not enough data: the route has one variant, so there is nothing to compare it with", report.Note);
        Assert.Null(report.MinimumDetectableEffect);
        Assert.Equal("not enough data: fewer than two variants have a weight, so there is no split to check", report.SampleRatio.Note);
        var only = Assert.Single(report.Variants);
        Assert.Equal(("control", 0.4), (only.Note, only.Rate));
        Assert.Equal(0.9, report.Confidence, 15);
        // Wilson 4/10 at 90% lies around 0.4.
        Assert.InRange(only.CiLow!.Value, 0.1, 0.4);
        Assert.InRange(only.CiHigh!.Value, 0.4, 0.7);
    }

    [Fact]
    public void Labels_joined_through_the_log_reach_the_report()
    {
        var log = new OutcomeLog(2, OutcomeLogTests.Declared());
        log.Record("a", 1, 0.9);
        log.Record("b", 1, 0.2);
        log.Join("a", Outcome.Label(1));
        log.Join("b", Outcome.Label(1));
        VariantTraffic[] traffic = [new("mlp", "income", "1", 50, 0, 0), new("gbt", "income_gbt", "1", 50, 2, 2)];

        var variant = ExperimentReport.Build("income_ab", traffic, log.Snapshot(), OutcomeLogTests.Declared()).Variants[1];

        Assert.Equal((2L, 2L, 2L, 1.0, 0.5), (variant.Outcomes, variant.Conversions, variant.Labels, variant.MeanLabel, variant.Accuracy));
        Assert.Equal((0.1 + 0.8) / 2, variant.MeanAbsoluteError!.Value, 12);
    }

    [Fact]
    public void The_report_needs_one_outcome_sum_per_variant_and_a_control_among_them()
    {
        VariantTraffic[] traffic = [new("mlp", "income", "1", 50, 0, 0), new("gbt", "income_gbt", "1", 50, 0, 0)];
        Assert.Throws<ArgumentException>(() => ExperimentReport.Build("income_ab", traffic, [default], OutcomeLogTests.Declared()));
        var error = Assert.Throws<ArgumentException>(() =>
            ExperimentReport.Build("income_ab", [new VariantTraffic("x", "m", null, 1, 0, 0)], [default], OutcomeLogTests.Declared()));
        Assert.StartsWith("the control 'mlp' is not one of the variants", error.Message);
    }
}
