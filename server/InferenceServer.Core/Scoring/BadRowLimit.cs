using System.Globalization;

namespace InferenceServer.Core.Scoring;

/// <summary><c>--max-bad-rows</c>: a count of bad rows, or a percentage of the rows read, past which the run stops.</summary>
/// <param name="Count">The most bad rows allowed; -1 when the limit is a percentage.</param>
/// <param name="Percent">The most bad rows allowed as a percentage of rows read; -1 when the limit is a count.</param>
public sealed record BadRowLimit(long Count, double Percent)
{
    /// <summary>No limit: every bad row is quarantined and the run goes on.</summary>
    public static BadRowLimit None { get; } = new(long.MaxValue, -1);

    // A percentage is judged once this many rows are read, so the first bad row of a run does not stop it at 100%.
    private const long PercentMinimumRows = 1000;

    /// <summary>Parses <c>N</c> or <c>P%</c>; null when the text is neither.</summary>
    public static BadRowLimit? Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.EndsWith('%'))
        {
            return double.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var percent) && percent is >= 0 and <= 100
                ? new BadRowLimit(-1, percent)
                : null;
        }
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var count) ? new BadRowLimit(count, -1) : null;
    }

    /// <summary>True when <paramref name="bad"/> bad rows out of <paramref name="read"/> read exceed the limit.</summary>
    public bool Exceeded(long bad, long read) => Count >= 0
        ? bad > Count
        : read >= PercentMinimumRows && bad * 100.0 > Percent * read;

    /// <summary>The limit as the flag wrote it.</summary>
    public override string ToString() => Count >= 0 ? Count.ToString(CultureInfo.InvariantCulture) : Percent.ToString(CultureInfo.InvariantCulture) + "%";
}
