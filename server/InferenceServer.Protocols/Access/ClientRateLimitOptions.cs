using System.Globalization;

namespace InferenceServer.Protocols.Access;

/// <summary>
/// Per-client rate limits (configuration section <c>RateLimit</c>), off by default: each client (its credential's name,
/// else its address) may send <see cref="Requests"/> requests per <see cref="PeriodSeconds"/>, in bursts of up to as many;
/// past that, 429 with <c>Retry-After</c> (gRPC: RESOURCE_EXHAUSTED). Health probes and metric scrapes are never limited.
/// </summary>
public sealed class ClientRateLimitOptions
{
    /// <summary><c>--rate-limit-requests</c>: requests per period per client; 0 (the default) switches limiting off.</summary>
    public int Requests { get; set; }

    /// <summary><c>--rate-limit-period-secs</c>: the period, in seconds.</summary>
    public double PeriodSeconds { get; set; } = 1;

    /// <summary>Whether clients are limited at all.</summary>
    public bool Enabled => Requests > 0;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting that is out of range.</summary>
    public void Validate()
    {
        if (Requests < 0)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"RateLimit:Requests {Requests} is not valid; expected 0 (off) or more"));
        }
        if (!(PeriodSeconds >= 0.001 && PeriodSeconds <= 86400))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"RateLimit:PeriodSeconds {PeriodSeconds} is not valid; expected 0.001 to 86400"));
        }
    }
}
