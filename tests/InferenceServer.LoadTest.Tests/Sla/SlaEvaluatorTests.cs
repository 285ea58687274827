using InferenceServer.LoadTest.Load;
using InferenceServer.LoadTest.Sla;
using InferenceServer.LoadTest.Tests.TestDoubles;

namespace InferenceServer.LoadTest.Tests.Sla;

public sealed class SlaEvaluatorTests
{
    [Fact]
    public void Assertions_that_hold_pass_and_say_how_much_room_is_left()
    {
        var checks = SlaEvaluator.Evaluate(SlaParser.Parse("p99<20ms,errors<0.1%,throughput>=50"), Summaries.Typical());

        Assert.All(checks, c => Assert.True(c.Passed, c.Detail));
        Assert.InRange(checks[0].Actual!.Value, 9.8, 10.0);
        Assert.StartsWith("p99 = 9.9", checks[0].Detail, StringComparison.Ordinal);
        Assert.Contains("to spare", checks[0].Detail, StringComparison.Ordinal);
        Assert.Equal(100, checks[2].Actual);
    }

    [Fact]
    public void A_failed_assertion_says_which_and_by_how_much()
    {
        var checks = SlaEvaluator.Evaluate(SlaParser.Parse("p50<5ms,errors<1%,throughput>=200,max<=10ms"), Summaries.Typical(errors: 50));

        Assert.False(checks[0].Passed);
        Assert.Matches(@"^p50 = 5\.\d+ ms \(limit < 5 ms\): over by \d+(\.\d+)? (us|ms) \(\d+(\.\d)?%\)$", checks[0].Detail);
        Assert.False(checks[1].Passed);
        Assert.Equal(50.0 / 1050, checks[1].Actual!.Value, 9);
        Assert.Contains("over by", checks[1].Detail, StringComparison.Ordinal);
        Assert.False(checks[2].Passed);
        Assert.Equal("throughput = 100 req/s (limit >= 200 req/s): under by 100 req/s (50%)", checks[2].Detail);
        Assert.True(checks[3].Passed);
    }

    [Fact]
    public void Latency_assertions_fail_when_no_request_succeeded()
    {
        var checks = SlaEvaluator.Evaluate(SlaParser.Parse("p99<20ms,errors<=100%"), Summaries.With([], errors: 10));

        Assert.False(checks[0].Passed);
        Assert.Null(checks[0].Actual);
        Assert.Contains("no successful requests", checks[0].Detail, StringComparison.Ordinal);
        Assert.True(checks[1].Passed);
    }

    [Fact]
    public void Late_starts_are_checked_as_a_share_or_a_count()
    {
        var summary = Summaries.Typical(mode: LoadMode.Open, late: 20);
        var checks = SlaEvaluator.Evaluate(SlaParser.Parse("late<1%,late<=20"), summary);

        Assert.False(checks[0].Passed);
        Assert.Equal(0.02, checks[0].Actual!.Value, 9);
        Assert.True(checks[1].Passed);
    }
}
