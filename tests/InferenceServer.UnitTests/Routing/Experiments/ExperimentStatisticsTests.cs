using InferenceServer.Core.Routing.Experiments;

namespace InferenceServer.UnitTests.Routing.Experiments;

/// <summary>
/// The statistics against numbers computed apart from MathNet: with python3's <c>statistics.NormalDist</c> (the
/// quantiles) and <c>math.erfc</c> (normal tails), following the textbook formulas, as each test's comment shows.
/// </summary>
public sealed class ExperimentStatisticsTests
{
    private static void Close(double expected, double? actual, double relative = 1e-9)
    {
        Assert.NotNull(actual);
        Assert.True(Math.Abs(expected - actual.Value) <= relative * Math.Max(Math.Abs(expected), 1e-300),
            $"expected {expected:R}, got {actual.Value:R}");
    }

    [Fact]
    public void The_Wilson_interval_matches_the_formula_and_stays_inside_zero_and_one()
    {
        // python3: z = NormalDist().inv_cdf(1 - (1 - conf) / 2); p = x / n; d = 1 + z*z/n
        //          centre = (p + z*z/(2*n)) / d; half = z/d * sqrt(p*(1-p)/n + z*z/(4*n*n))
        // 45/100 at 95%: (0.3561453797951198, 0.5475539700255786); at 90%: (0.37056097069445404, 0.5320733013838634)
        var interval = ExperimentStatistics.WilsonInterval(45, 100, 0.95);
        Close(0.3561453797951198, interval?.Low);
        Close(0.5475539700255786, interval?.High);
        interval = ExperimentStatistics.WilsonInterval(45, 100, 0.90);
        Close(0.37056097069445404, interval?.Low);
        Close(0.5320733013838634, interval?.High);

        // 0 of 10: the published Wilson bound 0.2775 (the Wald interval would be empty); 10 of 10 mirrors it.
        interval = ExperimentStatistics.WilsonInterval(0, 10, 0.95);
        Assert.InRange(interval!.Value.Low, 0, 1e-15);
        Close(0.27753279986288915, interval.Value.High);
        interval = ExperimentStatistics.WilsonInterval(10, 10, 0.95);
        Close(0.7224672001371109, interval?.Low);
        Assert.Equal(1, interval!.Value.High);

        Assert.Null(ExperimentStatistics.WilsonInterval(0, 0, 0.95));
    }

    [Fact]
    public void The_z_test_gives_the_pooled_two_sided_p_value_and_keeps_its_digits_in_the_tail()
    {
        // python3: p = (x1+x2)/(n1+n2); se = sqrt(p*(1-p)*(1/n1+1/n2)); z = (x2/n2 - x1/n1)/se; erfc(abs(z)/sqrt(2))
        // 200/1000 vs 250/1000: z = 2.677397763008329, p = 0.007419649261025693
        Close(0.007419649261025693, ExperimentStatistics.TwoProportionPValue(200, 1000, 250, 1000));
        // Two-sided: the order of the groups does not matter.
        Close(0.007419649261025693, ExperimentStatistics.TwoProportionPValue(250, 1000, 200, 1000));
        // 200/1000 vs 210/1000: z = 0.5538912535736553, p = 0.5796532713054185 (not significant)
        Close(0.5796532713054185, ExperimentStatistics.TwoProportionPValue(200, 1000, 210, 1000));
        // 100/1000 vs 300/1000: z = 11.180339887498947, p = erfc(z/sqrt(2)) = 5.089468973814453e-29; 1 - cdf would be 0.
        Close(5.089468973814453e-29, ExperimentStatistics.TwoProportionPValue(100, 1000, 300, 1000), 1e-6);
        // Equal rates: z = 0, p = 1.
        Close(1, ExperimentStatistics.TwoProportionPValue(30, 100, 60, 200));
    }

    [Theory]
    [InlineData(0, 0, 5, 10)] // a group without outcomes
    [InlineData(3, 3, 0, 3)] // 3 of 3 vs 0 of 3: z = 2.45 would say p = 0.014, but 6 outcomes prove nothing
    [InlineData(0, 1000, 0, 1000)] // nothing converted: the pooled rate is 0, the z-test has no variance
    [InlineData(1000, 1000, 1000, 1000)] // everything converted
    [InlineData(4, 1000, 4, 1000)] // 8 conversions in all: each group expects 4, fewer than 5
    public void The_z_test_has_no_p_value_when_a_group_expects_fewer_than_five_of_either_kind(long x1, long n1, long x2, long n2)
    {
        Assert.Null(ExperimentStatistics.TwoProportionPValue(x1, n1, x2, n2));
    }

    [Fact]
    public void The_minimum_detectable_effect_scales_the_control_variance_by_the_alpha_and_power_quantiles()
    {
        // python3: (NormalDist().inv_cdf(1 - a/2) + NormalDist().inv_cdf(power)) * sqrt(p*(1-p)*(1/nc + 1/nv))
        // p = 0.2, 1000 and 1000 outcomes, alpha 0.05, power 0.8: 0.050116279939673374; with 500 for the variant: 0.06137965682934015
        // p = 0.25, 1000 and 1000, alpha 0.1, power 0.9: 0.05666959287396099
        Close(0.050116279939673374, ExperimentStatistics.MinimumDetectableEffect(0.2, 1000, 1000, 0.05, 0.8));
        Close(0.06137965682934015, ExperimentStatistics.MinimumDetectableEffect(0.2, 1000, 500, 0.05, 0.8));
        Close(0.05666959287396099, ExperimentStatistics.MinimumDetectableEffect(0.25, 1000, 1000, 0.1, 0.9));

        Assert.Null(ExperimentStatistics.MinimumDetectableEffect(0.2, 0, 1000, 0.05, 0.8));
        Assert.Null(ExperimentStatistics.MinimumDetectableEffect(0.2, 1000, 0, 0.05, 0.8));
        Assert.Null(ExperimentStatistics.MinimumDetectableEffect(0, 1000, 1000, 0.05, 0.8));
        Assert.Null(ExperimentStatistics.MinimumDetectableEffect(1, 1000, 1000, 0.05, 0.8));
    }

    [Fact]
    public void The_sample_ratio_check_is_a_chi_square_of_requests_against_the_weights()
    {
        // By hand: 50/50 of 10200 expects 5100 each; (100² + 100²)/5100 = 3.9215686274509802.
        // One degree of freedom: p = erfc(sqrt(chi)/sqrt(2)) = 0.04767038065616147 (python3), not a mismatch.
        var check = ExperimentStatistics.SampleRatio([50, 50], [5000, 5200]);
        Close(3.9215686274509802, check.ChiSquare);
        Close(0.04767038065616147, check.PValue, 1e-8);
        Assert.False(check.Mismatch);
        Assert.Null(check.Note);

        // Weights 1:1:2 of 1000 expect 250, 250, 500; (10² + 10² + 0)/250 = 0.8. Two degrees: p = exp(-chi/2) = 0.6703200460356393.
        check = ExperimentStatistics.SampleRatio([1, 1, 2], [260, 240, 500]);
        Close(0.8, check.ChiSquare);
        Close(0.6703200460356393, check.PValue);

        // 10/90 of 10000 expects 1000 and 9000; 150²/1000 + 150²/9000 = 25, p = erfc(5/sqrt(2)) = 5.733031437583892e-07: a mismatch.
        check = ExperimentStatistics.SampleRatio([10, 90], [1150, 8850]);
        Close(25, check.ChiSquare);
        Close(5.733031437583892e-07, check.PValue, 1e-7);
        Assert.True(check.Mismatch);

        // A weight-0 variant takes only forced requests: it is left out, and the others still match exactly.
        check = ExperimentStatistics.SampleRatio([10, 90, 0], [1000, 9000, 37]);
        Close(0, check.ChiSquare);
        Close(1, check.PValue);
        Assert.False(check.Mismatch);
    }

    [Fact]
    public void The_sample_ratio_check_says_not_enough_data_instead_of_a_number()
    {
        var single = ExperimentStatistics.SampleRatio([100, 0], [500, 3]);
        Assert.Equal((null, null, false), (single.ChiSquare, single.PValue, single.Mismatch));
        Assert.Equal("not enough data: fewer than two variants have a weight, so there is no split to check", single.Note);

        // 1/99 of 400 expects 4 for the first variant: too few for chi-square.
        var small = ExperimentStatistics.SampleRatio([1, 99], [4, 396]);
        Assert.Equal((null, null, false), (small.ChiSquare, small.PValue, small.Mismatch));
        Assert.Equal("not enough data: the check needs at least 5 expected requests for every weighted variant", small.Note);

        var none = ExperimentStatistics.SampleRatio([50, 50], [0, 0]);
        Assert.Null(none.PValue);
        Assert.StartsWith("not enough data", none.Note);
    }
}
