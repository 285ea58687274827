using System.Globalization;
using InferenceServer.LoadTest.Cli;

namespace InferenceServer.LoadTest.Sla;

/// <summary>
/// Parses <c>--sla "p99&lt;20ms,errors&lt;0.1%,throughput&gt;=2000"</c>: assertions separated by commas, each
/// <c>metric operator value</c>. Metrics: <c>pN</c> (any percentile, e.g. p50, p99.9; <c>median</c> is p50),
/// <c>max</c>, <c>mean</c>, <c>errors</c>, <c>throughput</c> (alias <c>rps</c>), <c>late</c>. Operators: &lt; &lt;= &gt; &gt;=.
/// Latencies need a unit (us, ms, s); errors and late are a share with % or a count without; throughput is
/// requests per second (an optional <c>/s</c> or <c>rps</c> suffix is allowed).
/// </summary>
internal static class SlaParser
{
    public static IReadOnlyList<SlaAssertion> Parse(string text)
    {
        var assertions = new List<SlaAssertion>();
        foreach (var raw in text.Split([',', ';'], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            assertions.Add(ParseOne(raw));
        }
        if (assertions.Count == 0)
        {
            throw new UsageException("--sla: no assertions given (example: \"p99<20ms,errors<0.1%,throughput>=2000\")");
        }
        return assertions;
    }

    private static SlaAssertion ParseOne(string text)
    {
        var compact = text.Replace(" ", "", StringComparison.Ordinal);
        var opIndex = compact.IndexOfAny(['<', '>', '=']);
        if (opIndex <= 0)
        {
            throw new UsageException($"--sla: '{text}' is not 'metric operator value' (example: p99<20ms)");
        }
        var opLength = opIndex + 1 < compact.Length && compact[opIndex + 1] == '=' ? 2 : 1;
        var op = compact.Substring(opIndex, opLength) switch
        {
            "<" => SlaOperator.LessThan,
            "<=" => SlaOperator.LessOrEqual,
            ">" => SlaOperator.GreaterThan,
            ">=" => SlaOperator.GreaterOrEqual,
            var other => throw new UsageException($"--sla: '{other}' in '{text}' is not an operator (use <, <=, > or >=)"),
        };
        var name = compact[..opIndex].ToLowerInvariant();
        var valueText = compact[(opIndex + opLength)..];
        if (valueText.Length == 0)
        {
            throw new UsageException($"--sla: '{text}' has no value after the operator");
        }

        var (metric, percentile) = name switch
        {
            "max" => (SlaMetric.Max, 100.0),
            "mean" or "avg" => (SlaMetric.Mean, 0.0),
            "median" => (SlaMetric.Percentile, 50.0),
            "errors" or "error" or "error_rate" or "errors_rate" => (SlaMetric.Errors, 0.0),
            "throughput" or "rps" => (SlaMetric.Throughput, 0.0),
            "late" => (SlaMetric.Late, 0.0),
            _ when name.StartsWith('p') => (SlaMetric.Percentile, ParsePercentile(name, text)),
            _ => throw new UsageException($"--sla: unknown metric '{name}' in '{text}' (use pN such as p99 or p99.9, max, mean, errors, throughput, late)"),
        };

        switch (metric)
        {
            case SlaMetric.Percentile or SlaMetric.Max or SlaMetric.Mean:
                return new SlaAssertion(text, metric, percentile, op, ParseLatencyMs(valueText, text), IsShare: false);
            case SlaMetric.Errors or SlaMetric.Late:
                var isShare = valueText.EndsWith('%');
                var number = ParseNumber(isShare ? valueText[..^1] : valueText, text);
                if (isShare && number > 100)
                {
                    throw new UsageException($"--sla: '{text}' asks for more than 100%");
                }
                return new SlaAssertion(text, metric, 0, op, isShare ? number / 100 : number, isShare);
            default:
                var rate = valueText;
                foreach (var suffix in (string[])["req/s", "/s", "rps"])
                {
                    if (rate.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
                    {
                        rate = rate[..^suffix.Length];
                        break;
                    }
                }
                return new SlaAssertion(text, metric, 0, op, ParseNumber(rate, text), IsShare: false);
        }
    }

    private static double ParsePercentile(string name, string text)
    {
        if (!double.TryParse(name.AsSpan(1), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var p) || p <= 0 || p > 100)
        {
            throw new UsageException($"--sla: '{name}' in '{text}' is not a percentile between p0 and p100 (examples: p50, p99, p99.9)");
        }
        return p;
    }

    private static double ParseLatencyMs(string value, string text)
    {
        var unitStart = value.Length;
        while (unitStart > 0 && !char.IsAsciiDigit(value[unitStart - 1]) && value[unitStart - 1] != '.')
        {
            unitStart--;
        }
        var unit = value[unitStart..];
        double factor = unit switch
        {
            "ns" => 1e-6,
            "us" or "µs" => 1e-3,
            "ms" => 1,
            "s" => 1000,
            "" => throw new UsageException($"--sla: the latency in '{text}' needs a unit (us, ms or s), e.g. p99<20ms"),
            _ => throw new UsageException($"--sla: unknown unit '{unit}' in '{text}' (use us, ms or s)"),
        };
        return ParseNumber(value[..unitStart], text) * factor;
    }

    private static double ParseNumber(string value, string text)
    {
        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || number < 0 || !double.IsFinite(number))
        {
            throw new UsageException($"--sla: '{value}' in '{text}' is not a non-negative number");
        }
        return number;
    }
}
