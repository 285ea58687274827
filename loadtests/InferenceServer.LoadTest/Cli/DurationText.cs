using System.Globalization;

namespace InferenceServer.LoadTest.Cli;

/// <summary>
/// Durations as people write them: a number and a unit (<c>500ms</c>, <c>30s</c>, <c>2m</c>, <c>1h</c>, <c>250us</c>),
/// units may be chained (<c>1m30s</c>), and a bare number means seconds.
/// </summary>
internal static class DurationText
{
    /// <summary>Parses <paramref name="text"/>; throws <see cref="UsageException"/> naming <paramref name="what"/> when it is not a duration.</summary>
    public static TimeSpan Parse(string text, string what)
    {
        if (TryParse(text, out var value))
        {
            return value;
        }
        throw new UsageException($"{what}: '{text}' is not a duration (examples: 500ms, 30s, 2m, 1m30s)");
    }

    public static bool TryParse(string text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        var s = text.Trim();
        if (s.Length == 0)
        {
            return false;
        }
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var bareSeconds))
        {
            if (bareSeconds < 0 || double.IsNaN(bareSeconds) || bareSeconds > TimeSpan.MaxValue.TotalSeconds / 2)
            {
                return false;
            }
            value = TimeSpan.FromSeconds(bareSeconds);
            return true;
        }
        double total = 0;
        var i = 0;
        while (i < s.Length)
        {
            var start = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.'))
            {
                i++;
            }
            if (i == start || !double.TryParse(s.AsSpan(start, i - start), NumberStyles.Float, CultureInfo.InvariantCulture, out var amount))
            {
                return false;
            }
            var unitStart = i;
            while (i < s.Length && !char.IsAsciiDigit(s[i]) && s[i] != '.')
            {
                i++;
            }
            double? seconds = s[unitStart..i] switch
            {
                "ns" => 1e-9,
                "us" or "µs" => 1e-6,
                "ms" => 1e-3,
                "s" => 1,
                "m" or "min" => 60,
                "h" => 3600,
                _ => null,
            };
            if (seconds is null)
            {
                return false;
            }
            total += amount * seconds.Value;
        }
        if (total > TimeSpan.MaxValue.TotalSeconds / 2)
        {
            return false;
        }
        value = TimeSpan.FromTicks((long)Math.Round(total * TimeSpan.TicksPerSecond));
        return true;
    }

    /// <summary>A short human form: 250 µs, 12.5 ms, 3 s, 2m30s.</summary>
    public static string Format(TimeSpan value)
    {
        var seconds = value.TotalSeconds;
        if (seconds == 0)
        {
            return "0s";
        }
        if (seconds < 1e-3)
        {
            return (seconds * 1e6).ToString("0.##", CultureInfo.InvariantCulture) + "us";
        }
        if (seconds < 1)
        {
            return (seconds * 1e3).ToString("0.##", CultureInfo.InvariantCulture) + "ms";
        }
        if (seconds < 60 || seconds % 60 != 0 && seconds < 600)
        {
            return seconds < 60 ? seconds.ToString("0.##", CultureInfo.InvariantCulture) + "s" : $"{(int)(seconds / 60)}m{(seconds % 60).ToString("0.##", CultureInfo.InvariantCulture)}s";
        }
        return seconds % 3600 == 0 ? $"{(int)(seconds / 3600)}h" : $"{(int)(seconds / 60)}m" + (seconds % 60 == 0 ? "" : $"{(int)(seconds % 60)}s");
    }
}
