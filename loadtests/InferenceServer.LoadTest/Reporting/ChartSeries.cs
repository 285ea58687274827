namespace InferenceServer.LoadTest.Reporting;

/// <summary>How a series is drawn.</summary>
internal enum SeriesKind
{
    Line,
    DashedLine,
    Markers,
    Bars,
}

/// <summary>
/// One series of a chart. Lines and markers use (X, Y); bars use X as the left edge, <see cref="Point.X2"/> as the
/// right edge and Y as the height.
/// </summary>
internal sealed record ChartSeries(string Name, string Color, SeriesKind Kind, IReadOnlyList<Point> Points);

/// <summary>A point (or a bar from X to X2).</summary>
internal readonly record struct Point(double X, double Y, double X2 = 0, string? Tooltip = null);
