using System.Globalization;
using System.Text;

namespace InferenceServer.Protocols.Metrics;

/// <summary>
/// Writes metric families in the Prometheus text exposition format (version 0.0.4): one
/// <c># HELP</c> and <c># TYPE</c> per family, then its samples; histograms as cumulative
/// <c>_bucket</c> series ending in <c>le="+Inf"</c>, then <c>_sum</c> and <c>_count</c>.
/// </summary>
internal static class PrometheusTextWriter
{
    /// <summary>The Content-Type of a scrape response.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Appends every family with at least one series; throws when a family or a series would appear twice.</summary>
    public static void Write(StringBuilder output, IEnumerable<MetricFamilySnapshot> families)
    {
        var familyNames = new HashSet<string>(StringComparer.Ordinal);
        var labelSets = new HashSet<string>(StringComparer.Ordinal);
        var labels = new StringBuilder();
        foreach (var family in families)
        {
            if (family.Series.Count == 0)
            {
                continue;
            }
            var name = SanitizeName(family.Name, allowColon: true);
            if (!familyNames.Add(name))
            {
                throw new InvalidOperationException($"metric family '{name}' would be written twice");
            }
            if (family.Help.Length > 0)
            {
                output.Append("# HELP ").Append(name).Append(' ');
                AppendEscaped(output, family.Help, escapeQuote: false);
                output.Append('\n');
            }
            output.Append("# TYPE ").Append(name).Append(' ').Append(TypeName(family.Type)).Append('\n');

            labelSets.Clear();
            foreach (var series in family.Series)
            {
                labels.Clear();
                AppendLabels(labels, series.Labels);
                var labelText = labels.ToString();
                if (!labelSets.Add(labelText))
                {
                    throw new InvalidOperationException($"metric family '{name}' has two series labelled {{{labelText}}}");
                }
                if (family.Type == MetricType.Histogram)
                {
                    WriteHistogram(output, name, labelText, series);
                }
                else
                {
                    WriteSample(output, name, "", labelText, null, series.Value);
                }
            }
        }
    }

    /// <summary>Formats a sample value as Prometheus reads it: shortest round-trip, <c>+Inf</c>, <c>-Inf</c>, <c>NaN</c>.</summary>
    public static string FormatValue(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        _ when double.IsNaN(value) => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    private static void WriteHistogram(StringBuilder output, string name, string labelText, MetricSeriesSnapshot series)
    {
        var bounds = series.Bounds ?? [];
        var counts = series.BucketCounts ?? [];
        long cumulative = 0;
        for (var i = 0; i < bounds.Count; i++)
        {
            cumulative += i < counts.Count ? counts[i] : 0;
            WriteSample(output, name, "_bucket", labelText, FormatValue(bounds[i]), cumulative);
        }
        for (var i = bounds.Count; i < counts.Count; i++)
        {
            cumulative += counts[i];
        }
        // _count is the +Inf bucket by definition; deriving both from one read keeps them equal
        // even while observations arrive during the scrape.
        WriteSample(output, name, "_bucket", labelText, "+Inf", cumulative);
        WriteSample(output, name, "_sum", labelText, null, series.Sum);
        WriteSample(output, name, "_count", labelText, null, cumulative);
    }

    private static void WriteSample(StringBuilder output, string name, string suffix, string labelText, string? le, double value)
    {
        output.Append(name).Append(suffix);
        if (labelText.Length > 0 || le is not null)
        {
            output.Append('{').Append(labelText);
            if (le is not null)
            {
                if (labelText.Length > 0)
                {
                    output.Append(',');
                }
                output.Append("le=\"").Append(le).Append('"');
            }
            output.Append('}');
        }
        output.Append(' ').Append(FormatValue(value)).Append('\n');
    }

    private static void AppendLabels(StringBuilder output, IReadOnlyList<KeyValuePair<string, string>> labels)
    {
        for (var i = 0; i < labels.Count; i++)
        {
            var labelName = SanitizeName(labels[i].Key, allowColon: false);
            // "le" belongs to the histogram buckets.
            if (labelName == "le")
            {
                continue;
            }
            if (output.Length > 0)
            {
                output.Append(',');
            }
            output.Append(labelName).Append("=\"");
            AppendEscaped(output, labels[i].Value, escapeQuote: true);
            output.Append('"');
        }
    }

    // Label values escape backslash, double quote and line feed; HELP text only backslash and line feed.
    private static void AppendEscaped(StringBuilder output, string text, bool escapeQuote)
    {
        foreach (var c in text)
        {
            switch (c)
            {
                case '\\':
                    output.Append("\\\\");
                    break;
                case '\n':
                    output.Append("\\n");
                    break;
                case '"' when escapeQuote:
                    output.Append("\\\"");
                    break;
                default:
                    output.Append(c);
                    break;
            }
        }
    }

    // Metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names the same without colons.
    private static string SanitizeName(string name, bool allowColon)
    {
        static bool Valid(char c, int index, bool colon) =>
            char.IsAsciiLetter(c) || c == '_' || (colon && c == ':') || (index > 0 && char.IsAsciiDigit(c));

        var clean = true;
        for (var i = 0; i < name.Length && clean; i++)
        {
            clean = Valid(name[i], i, allowColon);
        }
        if (clean && name.Length > 0)
        {
            return name;
        }
        var builder = new StringBuilder(name.Length + 1);
        if (name.Length == 0 || char.IsAsciiDigit(name[0]))
        {
            builder.Append('_');
        }
        foreach (var c in name)
        {
            builder.Append(Valid(c, builder.Length, allowColon) ? c : '_');
        }
        return builder.ToString();
    }

    private static string TypeName(MetricType type) => type switch
    {
        MetricType.Counter => "counter",
        MetricType.Histogram => "histogram",
        _ => "gauge",
    };
}
