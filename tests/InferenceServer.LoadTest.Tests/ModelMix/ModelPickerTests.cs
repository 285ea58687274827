using InferenceServer.LoadTest.Cli;
using InferenceServer.LoadTest.ModelMix;

namespace InferenceServer.LoadTest.Tests.ModelMix;

public sealed class ModelPickerTests
{
    // Chi-square critical value for 199 degrees of freedom at p = 0.001: a fair sampler fails this once in a thousand
    // seeds, and the seed is fixed, so the test is deterministic.
    private const double ChiSquare199At0001 = 267.0;

    [Fact]
    public void Zipf_picks_follow_one_over_rank_to_the_s_over_200_models()
    {
        const int Models = 200;
        const int Draws = 400_000;
        var picker = new ModelPicker(Models, ModelDistribution.Parse("zipf:1.1", "--model-distribution"), seed: 7);
        var counts = new long[Models];
        for (long sequence = 0; sequence < Draws; sequence++)
        {
            counts[picker.Pick(sequence)]++;
        }

        // The shares themselves: 1/k^1.1 over the harmonic-like sum H = sum of 1/k^1.1 for k = 1..200.
        var h = Enumerable.Range(1, Models).Sum(k => Math.Pow(k, -1.1));
        for (var rank = 0; rank < Models; rank++)
        {
            Assert.Equal(Math.Pow(rank + 1, -1.1) / h, picker.Share(rank), 12);
        }
        // The head of the distribution, where the counts are large enough to hold to 2%.
        Assert.InRange(counts[0] / (double)Draws, 0.98 * picker.Share(0), 1.02 * picker.Share(0));
        Assert.InRange(counts[1] / (double)Draws, 0.98 * picker.Share(1), 1.02 * picker.Share(1));
        Assert.True(counts[0] > counts[1] && counts[1] > counts[9] && counts[9] > counts[99], string.Join(",", counts[..10]));
        // The whole distribution, tail included.
        var chiSquare = 0.0;
        for (var rank = 0; rank < Models; rank++)
        {
            var expected = Draws * picker.Share(rank);
            chiSquare += (counts[rank] - expected) * (counts[rank] - expected) / expected;
        }
        Assert.True(chiSquare < ChiSquare199At0001, $"chi-square {chiSquare:0.0} over 199 degrees of freedom");
        // The 20 hottest models take about two thirds of the traffic (0.679 expected): the warm set a 20-model budget holds.
        var top20 = counts[..20].Sum() / (double)Draws;
        Assert.InRange(top20, 0.67, 0.69);
    }

    [Fact]
    public void Uniform_picks_spread_evenly()
    {
        var picker = new ModelPicker(10, ModelDistribution.Uniform, seed: 3);
        var counts = new int[10];
        for (long sequence = 0; sequence < 100_000; sequence++)
        {
            counts[picker.Pick(sequence)]++;
        }
        Assert.All(counts, c => Assert.InRange(c, 9_600, 10_400));
    }

    [Fact]
    public void The_same_seed_and_sequence_give_the_same_model_in_any_order_and_another_seed_other_models()
    {
        var zipf = ModelDistribution.Parse("zipf:1.1", "--model-distribution");
        var first = new ModelPicker(200, zipf, seed: 11);
        var again = new ModelPicker(200, zipf, seed: 11);
        var other = new ModelPicker(200, zipf, seed: 12);
        var forward = Enumerable.Range(0, 1000).Select(i => first.Pick(i)).ToArray();
        var backward = Enumerable.Range(0, 1000).Reverse().Select(i => again.Pick(i)).Reverse().ToArray();
        Assert.Equal(forward, backward);
        var differing = Enumerable.Range(0, 1000).Count(i => other.Pick(i) != forward[i]);
        Assert.InRange(differing, 500, 1000);
        Assert.Equal(0, new ModelPicker(1, zipf, seed: 1).Pick(123));
    }

    [Theory]
    [InlineData("uniform", "uniform")]
    [InlineData("zipf:1.1", "zipf:1.1")]
    [InlineData("ZIPF:0.5", "zipf:0.5")]
    public void Distributions_parse(string text, string shown) =>
        Assert.Equal(shown, ModelDistribution.Parse(text, "--model-distribution").ToString());

    [Theory]
    [InlineData("zipf")]
    [InlineData("zipf:0")]
    [InlineData("zipf:-1")]
    [InlineData("zipf:abc")]
    [InlineData("normal")]
    public void Bad_distributions_name_the_flag_and_what_it_takes(string text)
    {
        var error = Assert.Throws<UsageException>(() => ModelDistribution.Parse(text, "--model-distribution"));
        Assert.Equal($"--model-distribution: '{text}' is not uniform or zipf:S with S from above 0 to 10 (e.g. zipf:1.1)", error.Message);
    }

    [Fact]
    public void Model_lists_expand_ranges_and_keep_their_order()
    {
        Assert.Equal(["hot", "variant_0", "variant_1", "variant_2", "m7.v1", "m8.v1"], ModelList.Parse("hot, variant_{0..2},m{7..8}.v1", "--models"));
        Assert.Equal(200, ModelList.Parse("variant_{0..199}", "--models").Count);
        Assert.Equal("variant_199", ModelList.Parse("variant_{0..199}", "--models")[^1]);
    }

    [Theory]
    [InlineData("a,,b", "--models: 'a,,b' has an empty name (two commas, or one at an end)")]
    [InlineData("a,b,a", "--models: model 'a' is listed twice; each model once (its place is its rank)")]
    [InlineData("m{0..2},m1", "--models: model 'm1' is listed twice; each model once (its place is its rank)")]
    [InlineData("m{2..0}", "--models: 'm{2..0}' counts down (2 to 0); write the range from low to high")]
    [InlineData("m{0..x}", "--models: 'm{0..x}' is not a name with one range such as variant_{0..199}")]
    [InlineData("m{0..1}{0..1}", "--models: 'm{0..1}{0..1}' is not a name with one range such as variant_{0..199}")]
    [InlineData("m}", "--models: 'm}' has a '}' without its '{'")]
    [InlineData("m{0..1000000}", "--models: 'm{0..1000000}' names more than 100,000 models")]
    public void Bad_model_lists_say_what_is_wrong(string text, string message) =>
        Assert.Equal(message, Assert.Throws<UsageException>(() => ModelList.Parse(text, "--models")).Message);
}
