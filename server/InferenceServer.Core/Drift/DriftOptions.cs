using System.Globalization;

namespace InferenceServer.Core.Drift;

/// <summary>
/// Drift monitoring's settings (configuration section <c>Drift</c>; <c>--drift-monitoring</c>,
/// <c>--drift-sample-rate</c>, <c>--drift-window</c>).
/// </summary>
public sealed class DriftOptions
{
    /// <summary>Off: no window is kept and the request path is untouched (a version's profile is not even read).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The share of requests whose rows go into the window, from 0 to 1.</summary>
    public double SampleRate { get; set; } = 0.1;

    /// <summary>The rows the window keeps per model version (the latest ones).</summary>
    public int WindowSize { get; set; } = 4096;

    /// <summary>The most rows one sampled request adds: a huge batch must not cost its request more, nor flush the window alone.</summary>
    public int MaxRowsPerRequest { get; set; } = 64;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (!(SampleRate is >= 0 and <= 1))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Drift:SampleRate must be from 0 to 1, not {SampleRate}"));
        }
        if (WindowSize is < 16 or > 1_048_576)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Drift:WindowSize must be from 16 to 1048576 rows, not {WindowSize}"));
        }
        if (MaxRowsPerRequest < 1)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Drift:MaxRowsPerRequest must be at least 1, not {MaxRowsPerRequest}"));
        }
    }
}
