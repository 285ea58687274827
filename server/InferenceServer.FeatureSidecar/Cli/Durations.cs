using System.Globalization;

namespace InferenceServer.FeatureSidecar.Cli;

/// <summary>Durations on the command line: a whole number with a unit, <c>500ms</c>, <c>90s</c>, <c>15m</c>, <c>24h</c>, <c>7d</c>.</summary>
internal static class Durations
{
    public const string Expected = "a positive whole number with a unit: ms, s, m, h or d (e.g. 90s, 24h, 7d)";

    public static TimeSpan? TryParse(string text)
    {
        var digits = 0;
        while (digits < text.Length && char.IsAsciiDigit(text[digits]))
        {
            digits++;
        }
        if (digits == 0 || !long.TryParse(text.AsSpan(0, digits), NumberStyles.None, CultureInfo.InvariantCulture, out var amount) || amount <= 0)
        {
            return null;
        }
        try
        {
            return text[digits..] switch
            {
                "ms" => TimeSpan.FromMilliseconds(amount),
                "s" => TimeSpan.FromSeconds(amount),
                "m" => TimeSpan.FromMinutes(amount),
                "h" => TimeSpan.FromHours(amount),
                "d" => TimeSpan.FromDays(amount),
                _ => null,
            };
        }
        catch (Exception e) when (e is OverflowException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }
}
