using InferenceServer.LoadTest.Cli;
using InferenceServer.LoadTest.Sla;

namespace InferenceServer.LoadTest.Tests.Sla;

public sealed class SlaParserTests
{
    [Fact]
    public void The_example_from_the_help_parses_into_three_assertions()
    {
        var sla = SlaParser.Parse("p99<20ms,errors<0.1%,throughput>=2000");

        Assert.Equal(3, sla.Count);
        Assert.Equal((SlaMetric.Percentile, 99.0, SlaOperator.LessThan, 20.0, false), (sla[0].Metric, sla[0].Percentile, sla[0].Operator, sla[0].Limit, sla[0].IsShare));
        Assert.Equal((SlaMetric.Errors, SlaOperator.LessThan, 0.001, true), (sla[1].Metric, sla[1].Operator, sla[1].Limit, sla[1].IsShare));
        Assert.Equal((SlaMetric.Throughput, SlaOperator.GreaterOrEqual, 2000.0), (sla[2].Metric, sla[2].Operator, sla[2].Limit));
        Assert.Equal("p99<20ms", sla[0].Text);
    }

    [Theory]
    [InlineData("p50<=500us", "Percentile", 50, "LessOrEqual", 0.5)]
    [InlineData("p99.9 < 1.5s", "Percentile", 99.9, "LessThan", 1500)]
    [InlineData("median<3ms", "Percentile", 50, "LessThan", 3)]
    [InlineData("max<250ms", "Max", 100, "LessThan", 250)]
    [InlineData("mean<2ms", "Mean", 0, "LessThan", 2)]
    [InlineData("errors<=5", "Errors", 0, "LessOrEqual", 5)]
    [InlineData("rps>100/s", "Throughput", 0, "GreaterThan", 100)]
    [InlineData("throughput>=1e3", "Throughput", 0, "GreaterOrEqual", 1000)]
    [InlineData("late<1%", "Late", 0, "LessThan", 0.01)]
    [InlineData("P95<20MS", "Percentile", 95, "LessThan", 20)]
    public void Each_metric_operator_and_unit_parses(string text, string metric, double percentile, string op, double limit)
    {
        var assertion = Assert.Single(SlaParser.Parse(text.Replace("MS", "ms", StringComparison.Ordinal)));
        Assert.Equal(Enum.Parse<SlaMetric>(metric), assertion.Metric);
        Assert.Equal(percentile, assertion.Percentile);
        Assert.Equal(Enum.Parse<SlaOperator>(op), assertion.Operator);
        Assert.Equal(limit, assertion.Limit, 9);
    }

    [Theory]
    [InlineData("", "no assertions")]
    [InlineData("p99<20", "needs a unit")]
    [InlineData("p99<20min", "unknown unit")]
    [InlineData("p99=20ms", "not an operator")]
    [InlineData("p99", "not 'metric operator value'")]
    [InlineData("latency<20ms", "unknown metric")]
    [InlineData("p101<20ms", "between p0 and p100")]
    [InlineData("errors<150%", "more than 100%")]
    [InlineData("throughput>=fast", "not a non-negative number")]
    [InlineData("p99<", "no value")]
    [InlineData("p99<-3ms", "not a non-negative number")]
    public void Malformed_assertions_are_usage_errors_that_say_what_is_wrong(string text, string message)
    {
        var error = Assert.Throws<UsageException>(() => SlaParser.Parse(text));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
