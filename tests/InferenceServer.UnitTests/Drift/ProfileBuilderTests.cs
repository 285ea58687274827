using InferenceServer.Core.Drift;

namespace InferenceServer.UnitTests.Drift;

/// <summary>
/// The profile builder's bins and frequencies for small data worked out by hand, the profile's file round trip, and
/// the drift of a batch against the profile it was built from (none) and against a shifted one (significant).
/// </summary>
public sealed class ProfileBuilderTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("drift-tests").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static TrainingProfile Profile(Action<ProfileBuilder> add)
    {
        var builder = new ProfileBuilder("m", "1", TrainingProfile.TensorLevel);
        add(builder);
        return builder.Build("test");
    }

    [Fact]
    public void Numbers_one_to_a_hundred_make_ten_bins_of_a_tenth_each()
    {
        var profile = Profile(b =>
        {
            var x = b.Feature("x[0]", numeric: true);
            for (var i = 1; i <= 100; i++)
            {
                x.Add(i);
            }
            x.Add(double.NaN);
        });

        var feature = Assert.Single(profile.Features);
        Assert.Equal(100, feature.Count);
        Assert.Equal(1, feature.Missing);
        // The 10% quantile of 1..100, linear between order statistics: position 9.9 -> 10.9.
        Assert.Equal(10.9, feature.Edges![0], 12);
        Assert.Equal(90.1, feature.Edges[^1], 12);
        Assert.All(feature.Proportions, p => Assert.Equal(0.1, p, 12));
        Assert.Equal(1, feature.Quantiles![0]);
        Assert.Equal(100, feature.Quantiles[100]);
        Assert.Equal(50.5, feature.Mean!.Value, 12);
    }

    [Fact]
    public void A_value_most_rows_share_makes_one_bin_not_several()
    {
        var profile = Profile(b =>
        {
            var x = b.Feature("gain", numeric: true);
            for (var i = 0; i < 90; i++)
            {
                x.Add(0);
            }
            for (var i = 1; i <= 10; i++)
            {
                x.Add(i * 1000);
            }
        });

        var feature = profile.Features[0];
        // Deciles 1..8 are all 0: one edge. The 9th lies at position 89.1, between the last 0 (index 89) and the first
        // 1000 (index 90): 0 + 0.1 * 1000 = 100. So two edges, three bins: the zeros, none in (0, 100], the rest above.
        Assert.Equal(2, feature.Edges!.Length);
        Assert.Equal(0.0, feature.Edges[0]);
        Assert.Equal(100.0, feature.Edges[1], 9);
        Assert.Equal([0.9, 0.0, 0.1], feature.Proportions);
    }

    [Fact]
    public void Categories_are_listed_most_frequent_first_and_the_rest_is_other()
    {
        var profile = new ProfileBuilder("m", "1", TrainingProfile.ViewLevel).Also(b =>
        {
            var c = b.Feature("colour", numeric: false);
            foreach (var value in new[] { "red", "blue", "red", "green", "red", "blue" })
            {
                c.Add(value);
            }
            c.AddMissing();
        }).Build("test", maxCategories: 2);

        var feature = profile.Features[0];
        Assert.Equal(["red", "blue"], feature.Categories!);
        Assert.Equal([3 / 6.0, 2 / 6.0, 1 / 6.0], feature.Proportions);
        Assert.Equal(6, feature.Count);
        Assert.Equal(1, feature.Missing);
    }

    [Fact]
    public void A_profile_written_to_a_file_reads_back_the_same()
    {
        var profile = Profile(b =>
        {
            var x = b.Feature("x[0]", numeric: true);
            var p = b.Prediction("probability");
            var random = new Random(3);
            for (var i = 0; i < 5000; i++)
            {
                x.Add(random.NextDouble() * 10);
                p.Add(random.NextDouble());
            }
        });
        var path = Path.Combine(_folder, TrainingProfile.FileName);

        profile.Write(path);
        var read = TrainingProfile.Read(path);

        Assert.Equal(profile.Model, read.Model);
        Assert.Equal(profile.Level, read.Level);
        Assert.Equal(profile.Created, read.Created);
        Assert.Equal(profile.Features[0].Edges, read.Features[0].Edges);
        Assert.Equal(profile.Features[0].Proportions, read.Features[0].Proportions);
        Assert.Equal(profile.Features[0].Quantiles, read.Features[0].Quantiles);
        Assert.Equal("probability", read.Predictions[0].Name);
        Assert.Equal(profile.Predictions[0].Proportions, read.Predictions[0].Proportions);
    }

    [Fact]
    public void A_file_that_is_no_profile_is_refused_naming_what_is_wrong()
    {
        var path = Path.Combine(_folder, TrainingProfile.FileName);
        File.WriteAllText(path, """{"format":"inference-server-training-profile/1","level":"feature_view","features":[{"name":"age","kind":"numeric","edges":[1,2],"proportions":[0.5,0.5],"quantiles":[0,1]}]}""");

        var e = Assert.Throws<FormatException>(() => TrainingProfile.Read(path));
        Assert.Contains("numeric feature 'age' has 2 edges, so 3 proportions were expected, not 2", e.Message);

        File.WriteAllText(path, "{ not json");
        Assert.Contains("is not valid JSON", Assert.Throws<FormatException>(() => TrainingProfile.Read(path)).Message);

        File.WriteAllText(path, """{"format":"other/2"}""");
        Assert.Contains("has format 'other/2'; expected 'inference-server-training-profile/1'", Assert.Throws<FormatException>(() => TrainingProfile.Read(path)).Message);
    }
}

internal static class BuilderExtensions
{
    public static ProfileBuilder Also(this ProfileBuilder builder, Action<ProfileBuilder> add)
    {
        add(builder);
        return builder;
    }
}
