using System.Globalization;
using InferenceServer.LoadTest.Load;

namespace InferenceServer.LoadTest.Sla;

/// <summary>Checks an SLA against a run's summary.</summary>
internal static class SlaEvaluator
{
    public static IReadOnlyList<SlaCheck> Evaluate(IReadOnlyList<SlaAssertion> sla, RunSummary run)
    {
        var checks = new List<SlaCheck>(sla.Count);
        foreach (var assertion in sla)
        {
            var actual = Measure(assertion, run);
            if (actual is null)
            {
                checks.Add(new SlaCheck(assertion, null, false, $"{assertion.MetricName}: no successful requests to measure (limit {assertion.OperatorText} {assertion.FormatValue(assertion.Limit)})"));
                continue;
            }
            var passed = assertion.Holds(actual.Value);
            checks.Add(new SlaCheck(assertion, actual, passed, Describe(assertion, actual.Value, passed)));
        }
        return checks;
    }

    /// <summary>The value of the assertion's metric in <paramref name="run"/>, or null for a latency when nothing succeeded.</summary>
    public static double? Measure(SlaAssertion assertion, RunSummary run) => assertion.Metric switch
    {
        SlaMetric.Percentile => run.Successes == 0 ? null : run.PercentileMs(assertion.Percentile),
        SlaMetric.Max => run.Successes == 0 ? null : run.Latency.Max / 1e6,
        SlaMetric.Mean => run.Successes == 0 ? null : run.Latency.Mean / 1e6,
        SlaMetric.Errors => assertion.IsShare ? run.ErrorShare : run.Errors,
        SlaMetric.Throughput => run.Throughput,
        _ => assertion.IsShare ? run.LateShare : run.Late,
    };

    private static string Describe(SlaAssertion assertion, double actual, bool passed)
    {
        var head = $"{assertion.MetricName} = {assertion.FormatValue(actual)} (limit {assertion.OperatorText} {assertion.FormatValue(assertion.Limit)})";
        var gap = Math.Abs(actual - assertion.Limit);
        var relative = assertion.Limit == 0 ? "" : $" ({(gap / assertion.Limit * 100).ToString("0.#", CultureInfo.InvariantCulture)}%)";
        if (passed)
        {
            return $"{head}: ok, {assertion.FormatValue(gap)}{relative} to spare";
        }
        var direction = assertion.Operator is SlaOperator.LessThan or SlaOperator.LessOrEqual ? "over" : "under";
        return gap == 0 ? $"{head}: at the limit, which the operator excludes" : $"{head}: {direction} by {assertion.FormatValue(gap)}{relative}";
    }
}
