using System.Globalization;

namespace InferenceServer.LoadTest.Reporting;

/// <summary>Numbers as reports print them.</summary>
internal static class Units
{
    /// <summary>A latency in milliseconds with a unit that keeps 3–4 significant digits: 812 us, 1.23 ms, 2.5 s.</summary>
    public static string Ms(double ms) => ms switch
    {
        >= 1000 => (ms / 1000).ToString("0.00", CultureInfo.InvariantCulture) + " s",
        >= 100 => ms.ToString("0", CultureInfo.InvariantCulture) + " ms",
        >= 1 => ms.ToString("0.00", CultureInfo.InvariantCulture) + " ms",
        _ => (ms * 1000).ToString("0", CultureInfo.InvariantCulture) + " us",
    };

    public static string Rate(double perSecond) => perSecond.ToString(perSecond >= 100 ? "#,0" : "0.0", CultureInfo.InvariantCulture) + "/s";

    public static string Count(long value) => value.ToString("#,0", CultureInfo.InvariantCulture);

    public static string Share(double share) => (share * 100).ToString(share is > 0 and < 0.001 ? "0.####" : "0.##", CultureInfo.InvariantCulture) + "%";

    public static string Number(double value, string format = "0.##") => value.ToString(format, CultureInfo.InvariantCulture);

    public static string Seconds(double seconds) => seconds.ToString(seconds >= 10 ? "0" : "0.0", CultureInfo.InvariantCulture) + " s";
}
