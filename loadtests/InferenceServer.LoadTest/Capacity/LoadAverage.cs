using System.Globalization;

namespace InferenceServer.LoadTest.Capacity;

/// <summary>The machine's one-minute load average from Linux's /proc/loadavg, recorded with each capacity trial.</summary>
internal static class LoadAverage
{
    /// <summary>Null off Linux or when unreadable.</summary>
    public static double? TryRead()
    {
        try
        {
            var text = File.ReadAllText("/proc/loadavg");
            var end = text.IndexOf(' ');
            return end > 0 && double.TryParse(text.AsSpan(0, end), NumberStyles.Float, CultureInfo.InvariantCulture, out var load) ? load : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
