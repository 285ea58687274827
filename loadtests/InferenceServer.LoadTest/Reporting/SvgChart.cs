using System.Globalization;
using System.Text;

namespace InferenceServer.LoadTest.Reporting;

/// <summary>
/// A small chart drawn as inline SVG: axes with round ticks (linear, or powers of ten on a log scale), gridlines,
/// a legend, any number of line, marker or bar series, optional horizontal reference lines (an SLA limit) and a
/// shaded x-range (the warm-up). Output is well-formed XML, so it embeds in the XHTML-compatible report.
/// </summary>
internal sealed class SvgChart
{
    private const double Left = 64, Right = 28, Top = 34, Bottom = 46;

    public required string Title { get; init; }

    public string XLabel { get; init; } = "";

    public string YLabel { get; init; } = "";

    public bool XLog { get; init; }

    public bool YLog { get; init; }

    public double Width { get; init; } = 560;

    public double Height { get; init; } = 300;

    public List<ChartSeries> Series { get; init; } = [];

    /// <summary>Horizontal reference lines at a Y value.</summary>
    public List<(double Y, string Label, string Color)> ReferenceLines { get; init; } = [];

    /// <summary>An x-range drawn shaded.</summary>
    public (double From, double To, string Label)? Shade { get; init; }

    /// <summary>Explicit x ticks (value, label); null computes them.</summary>
    public IReadOnlyList<(double Value, string Label)>? XTicks { get; init; }

    public Func<double, string> XFormat { get; init; } = Compact;

    public Func<double, string> YFormat { get; init; } = Compact;

    /// <summary>Y starts at zero on a linear scale (counts, rates), instead of at the data's minimum.</summary>
    public bool YFromZero { get; init; } = true;

    public string Render()
    {
        var points = Series.SelectMany(s => s.Points).ToList();
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"{N(Width)}\" height=\"{N(Height)}\" viewBox=\"0 0 {N(Width)} {N(Height)}\" role=\"img\">");
        svg.Append("<title>").Append(Escape(Title)).Append("</title>");
        svg.Append(CultureInfo.InvariantCulture, $"<text class=\"chart-title\" x=\"{N(Left)}\" y=\"18\">{Escape(Title)}</text>");
        if (points.Count == 0)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<text class=\"empty\" x=\"{N(Width / 2)}\" y=\"{N(Height / 2)}\" text-anchor=\"middle\">no data</text></svg>");
            return svg.ToString();
        }

        var xs = points.Select(p => p.X).Concat(Series.Where(s => s.Kind == SeriesKind.Bars).SelectMany(s => s.Points).Select(p => p.X2));
        var (xMin, xMax) = Range(XLog ? xs.Where(x => x > 0) : xs, XLog, fromZero: false);
        if (XTicks is { Count: > 0 })
        {
            xMin = Math.Min(xMin, XTicks.Min(t => t.Value));
            xMax = Math.Max(xMax, XTicks.Max(t => t.Value));
        }
        if (Shade is { } shade)
        {
            xMin = Math.Min(xMin, shade.From);
        }
        var ys = points.Select(p => p.Y).Concat(ReferenceLines.Select(r => r.Y));
        var (yMin, yMax) = Range(YLog ? ys.Where(y => y > 0) : ys, YLog, YFromZero);
        if (!YLog)
        {
            yMax += (yMax - yMin) * 0.05;
        }

        var plotW = Width - Left - Right;
        var plotH = Height - Top - Bottom;
        double X(double x) => Left + (plotW * (Scale(x, XLog) - Scale(xMin, XLog)) / (Scale(xMax, XLog) - Scale(xMin, XLog)));
        double Y(double y) => Top + plotH - (plotH * (Scale(y, YLog) - Scale(yMin, YLog)) / (Scale(yMax, YLog) - Scale(yMin, YLog)));

        if (Shade is { } s0)
        {
            var x0 = X(Math.Max(s0.From, xMin));
            var x1 = X(Math.Min(s0.To, xMax));
            if (x1 > x0)
            {
                svg.Append(CultureInfo.InvariantCulture, $"<rect class=\"shade\" x=\"{N(x0)}\" y=\"{N(Top)}\" width=\"{N(x1 - x0)}\" height=\"{N(plotH)}\"/>");
                svg.Append(CultureInfo.InvariantCulture, $"<text class=\"shade-label\" x=\"{N(x0 + 4)}\" y=\"{N(Top + 12)}\">{Escape(s0.Label)}</text>");
            }
        }

        // Grid and ticks.
        foreach (var (value, label) in Ticks(yMin, yMax, YLog).Select(v => (v, YFormat(v))))
        {
            var y = Y(value);
            svg.Append(CultureInfo.InvariantCulture, $"<line class=\"grid\" x1=\"{N(Left)}\" x2=\"{N(Left + plotW)}\" y1=\"{N(y)}\" y2=\"{N(y)}\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text class=\"tick\" x=\"{N(Left - 6)}\" y=\"{N(y + 4)}\" text-anchor=\"end\">{Escape(label)}</text>");
        }
        var xTicks = XTicks ?? [.. Ticks(xMin, xMax, XLog).Select(v => (v, XFormat(v)))];
        foreach (var (value, label) in xTicks)
        {
            if (value < xMin || value > xMax)
            {
                continue;
            }
            var x = X(value);
            svg.Append(CultureInfo.InvariantCulture, $"<line class=\"grid\" x1=\"{N(x)}\" x2=\"{N(x)}\" y1=\"{N(Top)}\" y2=\"{N(Top + plotH)}\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text class=\"tick\" x=\"{N(x)}\" y=\"{N(Top + plotH + 16)}\" text-anchor=\"middle\">{Escape(label)}</text>");
        }
        svg.Append(CultureInfo.InvariantCulture, $"<rect class=\"frame\" x=\"{N(Left)}\" y=\"{N(Top)}\" width=\"{N(plotW)}\" height=\"{N(plotH)}\"/>");
        svg.Append(CultureInfo.InvariantCulture, $"<text class=\"axis-label\" x=\"{N(Left + (plotW / 2))}\" y=\"{N(Height - 8)}\" text-anchor=\"middle\">{Escape(XLabel)}</text>");
        svg.Append(CultureInfo.InvariantCulture, $"<text class=\"axis-label\" transform=\"translate(14 {N(Top + (plotH / 2))}) rotate(-90)\" text-anchor=\"middle\">{Escape(YLabel)}</text>");

        foreach (var series in Series)
        {
            switch (series.Kind)
            {
                case SeriesKind.Bars:
                    foreach (var p in series.Points)
                    {
                        var x0 = X(p.X);
                        var x1 = X(p.X2);
                        var y = Y(p.Y);
                        svg.Append(CultureInfo.InvariantCulture, $"<rect fill=\"{series.Color}\" x=\"{N(x0)}\" y=\"{N(y)}\" width=\"{N(Math.Max(0.5, x1 - x0))}\" height=\"{N(Top + plotH - y)}\">");
                        svg.Append("<title>").Append(Escape(p.Tooltip ?? $"{XFormat(p.X)}–{XFormat(p.X2)}: {YFormat(p.Y)}")).Append("</title></rect>");
                    }
                    break;
                case SeriesKind.Markers:
                    foreach (var p in series.Points)
                    {
                        svg.Append(CultureInfo.InvariantCulture, $"<circle fill=\"{series.Color}\" cx=\"{N(X(p.X))}\" cy=\"{N(Y(p.Y))}\" r=\"4\">");
                        svg.Append("<title>").Append(Escape(p.Tooltip ?? $"{XFormat(p.X)}: {YFormat(p.Y)}")).Append("</title></circle>");
                    }
                    break;
                default:
                    var path = string.Join(' ', series.Points.Where(p => (!XLog || p.X > 0) && (!YLog || p.Y > 0)).Select(p => N(X(p.X)) + "," + N(Y(p.Y))));
                    var dash = series.Kind == SeriesKind.DashedLine ? " stroke-dasharray=\"6 4\"" : "";
                    svg.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"{series.Color}\" stroke-width=\"1.8\"{dash} points=\"{path}\"/>");
                    break;
            }
        }
        foreach (var (value, label, color) in ReferenceLines)
        {
            var y = Y(value);
            svg.Append(CultureInfo.InvariantCulture, $"<line stroke=\"{color}\" stroke-width=\"1.5\" stroke-dasharray=\"3 3\" x1=\"{N(Left)}\" x2=\"{N(Left + plotW)}\" y1=\"{N(y)}\" y2=\"{N(y)}\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text class=\"ref-label\" fill=\"{color}\" x=\"{N(Left + 6)}\" y=\"{N(y - 4)}\">{Escape(label)}</text>");
        }

        // Legend, right-aligned above the plot.
        var legendX = Width - Right;
        foreach (var series in Enumerable.Reverse(Series))
        {
            if (series.Name.Length == 0)
            {
                continue;
            }
            var textWidth = (series.Name.Length * 6.2) + 18;
            legendX -= textWidth;
            svg.Append(CultureInfo.InvariantCulture, $"<rect fill=\"{series.Color}\" x=\"{N(legendX)}\" y=\"{N(Top - 14)}\" width=\"10\" height=\"10\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text class=\"legend\" x=\"{N(legendX + 14)}\" y=\"{N(Top - 5)}\">{Escape(series.Name)}</text>");
            legendX -= 8;
        }
        svg.Append("</svg>");
        return svg.ToString();
    }

    /// <summary>A number with at most 3 significant digits and k/M suffixes: 0.25, 12, 1.5k, 2M.</summary>
    public static string Compact(double value)
    {
        var a = Math.Abs(value);
        return a switch
        {
            0 => "0",
            >= 1e6 => (value / 1e6).ToString("0.##", CultureInfo.InvariantCulture) + "M",
            >= 1e4 => (value / 1e3).ToString("0.#", CultureInfo.InvariantCulture) + "k",
            >= 100 => value.ToString("0", CultureInfo.InvariantCulture),
            >= 1 => value.ToString("0.##", CultureInfo.InvariantCulture),
            >= 0.01 => value.ToString("0.###", CultureInfo.InvariantCulture),
            _ => value.ToString("0.#####", CultureInfo.InvariantCulture),
        };
    }

    public static string Escape(string text) =>
        text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal).Replace("\"", "&quot;", StringComparison.Ordinal);

    private static double Scale(double value, bool log) => log ? Math.Log10(value) : value;

    private static (double Min, double Max) Range(IEnumerable<double> values, bool log, bool fromZero)
    {
        var list = values.Where(double.IsFinite).ToList();
        if (list.Count == 0)
        {
            return log ? (1, 10) : (0, 1);
        }
        double min = list.Min(), max = list.Max();
        if (log)
        {
            min = Math.Pow(10, Math.Floor(Math.Log10(min)));
            max = Math.Pow(10, Math.Ceiling(Math.Log10(max)));
            return max <= min ? (min, min * 10) : (min, max);
        }
        if (fromZero)
        {
            min = Math.Min(0, min);
        }
        if (max <= min)
        {
            max = min + (min == 0 ? 1 : Math.Abs(min) * 0.1);
        }
        return (min, max);
    }

    private static IEnumerable<double> Ticks(double min, double max, bool log)
    {
        if (log)
        {
            var decades = Math.Log10(max / min);
            for (var e = Math.Floor(Math.Log10(min)); e <= Math.Ceiling(Math.Log10(max)); e++)
            {
                foreach (var m in decades <= 2 ? [1, 2, 5] : (double[])[1])
                {
                    var v = m * Math.Pow(10, e);
                    if (v >= min * 0.999 && v <= max * 1.001)
                    {
                        yield return v;
                    }
                }
            }
            yield break;
        }
        var step = NiceStep((max - min) / 5);
        for (var v = Math.Ceiling(min / step) * step; v <= max + (step * 1e-9); v += step)
        {
            yield return Math.Abs(v) < step * 1e-9 ? 0 : v;
        }
    }

    private static double NiceStep(double raw)
    {
        if (raw <= 0 || !double.IsFinite(raw))
        {
            return 1;
        }
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var fraction = raw / magnitude;
        return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * magnitude;
    }

    private static string N(double value) => value.ToString("0.#", CultureInfo.InvariantCulture);
}
