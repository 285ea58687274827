using InferenceServer.Core.Drift;

namespace InferenceServer.UnitTests.Drift;

/// <summary>PSI, KS, binning and the thresholds against values worked out by hand for small distributions.</summary>
public sealed class DriftStatisticsTests
{
    [Fact]
    public void Psi_of_two_bins_is_the_hand_computed_sum()
    {
        // (0.25 - 0.5) ln(0.25 / 0.5) + (0.75 - 0.5) ln(0.75 / 0.5) = 0.25 ln 2 + 0.25 ln 1.5
        var expected = 0.25 * Math.Log(2) + 0.25 * Math.Log(1.5);

        Assert.Equal(expected, DriftStatistics.Psi([0.5, 0.5], [0.25, 0.75]), 12);
        Assert.Equal(0.274653, DriftStatistics.Psi([0.5, 0.5], [0.25, 0.75]), 6);
    }

    [Fact]
    public void Psi_of_identical_distributions_is_zero()
    {
        Assert.Equal(0, DriftStatistics.Psi([0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4]), 15);
    }

    [Fact]
    public void An_empty_bin_counts_as_epsilon_so_the_index_stays_finite()
    {
        // (0.5 - 1) ln(0.5 / 1) + (0.5 - 1e-4) ln(0.5 / 1e-4)
        var expected = -0.5 * Math.Log(0.5) + (0.5 - 1e-4) * Math.Log(0.5 / 1e-4);

        var psi = DriftStatistics.Psi([1, 0], [0.5, 0.5]);

        Assert.Equal(expected, psi, 12);
        Assert.Equal(4.604320, psi, 5);
    }

    [Fact]
    public void Psi_refuses_bins_that_do_not_match()
    {
        var e = Assert.Throws<ArgumentException>(() => DriftStatistics.Psi([0.5, 0.5], [1.0]));
        Assert.Contains("2 expected shares, 1 actual", e.Message);
    }

    [Theory]
    [InlineData(0.0, "none")]
    [InlineData(0.0999, "none")]
    [InlineData(0.1, "moderate")]
    [InlineData(0.2, "moderate")]
    [InlineData(0.2001, "significant")]
    [InlineData(3.0, "significant")]
    public void The_conventional_thresholds_name_the_level(double psi, string level) => Assert.Equal(level, DriftStatistics.Level(psi));

    [Theory]
    [InlineData(0.5, 0)]
    [InlineData(1.0, 0)]
    [InlineData(1.5, 1)]
    [InlineData(2.0, 1)]
    [InlineData(3.0, 2)]
    [InlineData(9.0, 3)]
    public void A_value_goes_to_the_first_bin_whose_edge_it_does_not_exceed(double value, int bin) =>
        Assert.Equal(bin, DriftStatistics.Bin([1.0, 2.0, 3.0], value));

    [Fact]
    public void Ks_against_a_uniform_profile_is_the_largest_gap_on_either_side_of_a_step()
    {
        // Percentiles 0..100 of a uniform [0, 100]: F(x) = x / 100. Sample {25, 50, 75}: before 25 the sample's CDF is
        // 0 against 0.25, after 75 it is 1 against 0.75; in between the gaps are 1/12 and 1/6. D = 0.25.
        var quantiles = Enumerable.Range(0, 101).Select(k => (double)k).ToArray();

        Assert.Equal(0.25, DriftStatistics.Ks([25, 50, 75], quantiles), 12);
        Assert.Equal(0.5, DriftStatistics.Ks([50, 50, 50, 50], quantiles), 12);
        Assert.Equal(0, DriftStatistics.Ks([], quantiles));
    }

    [Fact]
    public void Ks_sees_the_step_of_a_value_the_profile_holds_many_times()
    {
        // 90% of the training rows were 0 (percentiles 0..90), the rest 1..10: the profile's CDF steps from 0 to 0.9 at 0.
        // A sample of only zeros reaches 1 there: D = 0.1. A sample of only tens: F(10-) = 0.99 against 0, D = 0.99... the
        // left side before 10 is 0.99 from the profile (percentile 99 is 9 -> 10 lies between 99 and 100).
        var quantiles = Enumerable.Range(0, 101).Select(k => k <= 90 ? 0.0 : k - 90).ToArray();

        Assert.Equal(0.1, DriftStatistics.Ks([0, 0, 0, 0], quantiles), 12);
        Assert.Equal(0.9, DriftStatistics.Cdf(quantiles, 0).Right, 12);
        Assert.Equal(0.0, DriftStatistics.Cdf(quantiles, 0).Left, 12);
        Assert.Equal(1.0, DriftStatistics.Ks([-5], quantiles), 12);
        Assert.Equal(0.95, DriftStatistics.Cdf(quantiles, 5).Right, 12);
    }
}
