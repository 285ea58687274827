using System.Globalization;
using InferenceServer.LoadTest.Load;

namespace InferenceServer.LoadTest.Cli;

/// <summary>
/// The value syntaxes of <c>loadtest</c>'s flags. Each throws <see cref="UsageException"/> with one line naming the flag,
/// what it got and what it takes; the command line's options and the scenario files' settings both go through here.
/// </summary>
internal static class ValueParsers
{
    public static Uri Url(string text, string flag)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new UsageException($"{flag}: '{text}' is not an http:// or https:// address");
        }
        return uri;
    }

    public static int Integer(string text, string flag, int min, int max)
    {
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new UsageException($"{flag}: '{text}' is not a whole number from {min} to {max}");
        }
        return value;
    }

    public static double PositiveNumber(string text, string flag)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value <= 0 || !double.IsFinite(value))
        {
            throw new UsageException($"{flag}: '{text}' is not a positive number");
        }
        return value;
    }

    public static TimeSpan PositiveDuration(string text, string flag)
    {
        var value = DurationText.Parse(text, flag);
        if (value <= TimeSpan.Zero)
        {
            throw new UsageException($"{flag}: '{text}' must be longer than zero");
        }
        return value;
    }

    /// <summary>A share written as <c>80%</c> or <c>0.8</c>.</summary>
    public static double Share(string text, string flag)
    {
        var percent = text.EndsWith('%');
        if (!double.TryParse(percent ? text[..^1] : text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value <= 0)
        {
            throw new UsageException($"{flag}: '{text}' is not a share such as 5% or 0.05");
        }
        value = percent ? value / 100 : value;
        if (value > 1)
        {
            throw new UsageException($"{flag}: '{text}' is more than 100%");
        }
        return value;
    }

    public static ArrivalProcess Arrival(string text, string flag) => text.ToLowerInvariant() switch
    {
        "constant" or "uniform" => ArrivalProcess.Constant,
        "poisson" => ArrivalProcess.Poisson,
        _ => throw new UsageException($"{flag}: '{text}' is not constant or poisson"),
    };

    public static LoadMode Loop(string text, string flag) => text switch
    {
        "open" => LoadMode.Open,
        "closed" => LoadMode.Closed,
        _ => throw new UsageException($"{flag}: '{text}' is not open or closed"),
    };
}
