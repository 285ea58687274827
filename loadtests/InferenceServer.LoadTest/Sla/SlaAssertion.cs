using System.Globalization;

namespace InferenceServer.LoadTest.Sla;

/// <summary>
/// One assertion of an SLA, e.g. <c>p99&lt;20ms</c>. Latency limits are held in milliseconds, error and late shares
/// as fractions (0.001 for 0.1%), counts and throughputs as they are.
/// </summary>
internal sealed record SlaAssertion(string Text, SlaMetric Metric, double Percentile, SlaOperator Operator, double Limit, bool IsShare)
{
    /// <summary>Whether a measured value satisfies the assertion.</summary>
    public bool Holds(double actual) => Operator switch
    {
        SlaOperator.LessThan => actual < Limit,
        SlaOperator.LessOrEqual => actual <= Limit,
        SlaOperator.GreaterThan => actual > Limit,
        _ => actual >= Limit,
    };

    /// <summary>The metric's name as written in reports: p99, p99.9, max, mean, errors, throughput, late.</summary>
    public string MetricName => Metric switch
    {
        SlaMetric.Percentile => "p" + Percentile.ToString("0.###", CultureInfo.InvariantCulture),
        SlaMetric.Max => "max",
        SlaMetric.Mean => "mean",
        SlaMetric.Errors => "errors",
        SlaMetric.Throughput => "throughput",
        _ => "late",
    };

    public string OperatorText => Operator switch
    {
        SlaOperator.LessThan => "<",
        SlaOperator.LessOrEqual => "<=",
        SlaOperator.GreaterThan => ">",
        _ => ">=",
    };

    /// <summary>Whether the metric is a latency (milliseconds).</summary>
    public bool IsLatency => Metric is SlaMetric.Percentile or SlaMetric.Max or SlaMetric.Mean;

    /// <summary>A value of this assertion's metric with its unit: 12.5 ms, 0.1%, 2000 req/s, 3.</summary>
    public string FormatValue(double value) =>
        IsLatency ? FormatMilliseconds(value)
        : IsShare ? (value * 100).ToString("0.###", CultureInfo.InvariantCulture) + "%"
        : Metric == SlaMetric.Throughput ? value.ToString("0.#", CultureInfo.InvariantCulture) + " req/s"
        : value.ToString("0", CultureInfo.InvariantCulture);

    public static string FormatMilliseconds(double ms) => ms switch
    {
        >= 1000 => (ms / 1000).ToString("0.###", CultureInfo.InvariantCulture) + " s",
        >= 1 => ms.ToString("0.###", CultureInfo.InvariantCulture) + " ms",
        _ => (ms * 1000).ToString("0.#", CultureInfo.InvariantCulture) + " us",
    };
}
