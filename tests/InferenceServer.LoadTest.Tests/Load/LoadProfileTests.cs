using InferenceServer.LoadTest.Load;

namespace InferenceServer.LoadTest.Tests.Load;

public sealed class LoadProfileTests
{
    private static Stage S(double seconds, double target) => new(TimeSpan.FromSeconds(seconds), target);

    [Fact]
    public void A_constant_profile_has_its_level_throughout_and_the_area_of_a_rectangle()
    {
        var profile = LoadProfile.Constant(200, TimeSpan.FromSeconds(3));
        Assert.Equal(200, profile.LevelAt(0));
        Assert.Equal(200, profile.LevelAt(2.9));
        Assert.Equal(600, profile.TotalArea, 9);
        Assert.Equal(1.5, profile.TimeOfArea(300)!.Value, 9);
        Assert.Null(profile.TimeOfArea(601));
    }

    [Fact]
    public void Stages_ramp_linearly_from_the_previous_target_starting_at_zero()
    {
        var profile = new LoadProfile([S(10, 100), S(20, 500)]);
        Assert.Equal(TimeSpan.FromSeconds(30), profile.Duration);
        Assert.Equal(0, profile.LevelAt(0));
        Assert.Equal(50, profile.LevelAt(5), 9);
        Assert.Equal(100, profile.LevelAt(10), 9);
        Assert.Equal(300, profile.LevelAt(20), 9);
        Assert.Equal(500, profile.LevelAt(31));
        // 0→100 over 10 s holds 500; 100→500 over 20 s holds 6000.
        Assert.Equal(6500, profile.TotalArea, 9);
        Assert.Equal(125, profile.AreaUntil(5), 9);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(125)]
    [InlineData(500)]
    [InlineData(501)]
    [InlineData(3000)]
    [InlineData(6499.5)]
    public void The_time_of_an_area_inverts_the_area_until_a_time(double area)
    {
        var profile = new LoadProfile([S(10, 100), S(20, 500)]);
        var t = profile.TimeOfArea(area)!.Value;
        Assert.Equal(area, profile.AreaUntil(t), 6);
    }

    [Fact]
    public void A_zero_length_stage_jumps_and_a_zero_level_stage_pauses()
    {
        var profile = new LoadProfile([S(0, 100), S(2, 100), S(0, 0), S(3, 0), S(0, 50), S(2, 50)]);
        Assert.Equal(100, profile.LevelAt(0));
        Assert.Equal(0, profile.LevelAt(3));
        Assert.Equal(50, profile.LevelAt(6));
        // 200 arrivals in the first 2 s, none in the pause, then 50/s.
        Assert.Equal(2, profile.TimeOfArea(200)!.Value, 9);
        Assert.Equal(5.02, profile.TimeOfArea(201)!.Value, 9);
    }

    [Fact]
    public void A_warmup_runs_at_its_own_level_then_the_profile_starts_from_its_own_beginning()
    {
        var profile = new LoadProfile([S(10, 100)]).WithWarmup(TimeSpan.FromSeconds(2), 40);
        Assert.Equal(TimeSpan.FromSeconds(12), profile.Duration);
        Assert.Equal(40, profile.LevelAt(1));
        Assert.Equal(0, profile.LevelAt(2), 9);
        Assert.Equal(50, profile.LevelAt(7), 9);
        Assert.Equal(80 + 500, profile.TotalArea, 9);
    }
}
