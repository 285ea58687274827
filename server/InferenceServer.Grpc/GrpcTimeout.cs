namespace InferenceServer.Grpc;

/// <summary>
/// The <c>grpc-timeout</c> header: 1 to 8 ASCII digits then a unit, <c>H</c> hours, <c>M</c> minutes, <c>S</c>
/// seconds, <c>m</c> milliseconds, <c>u</c> microseconds, <c>n</c> nanoseconds.
/// </summary>
public static class GrpcTimeout
{
    /// <summary>Largest number of digits the protocol allows.</summary>
    public const int MaxDigits = 8;

    /// <summary>
    /// Parses a <c>grpc-timeout</c> value. Sub-tick values round up to one tick so a non-zero timeout never reads as
    /// zero; a zero timeout is accepted and means the deadline has already passed.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> value, out TimeSpan timeout)
    {
        timeout = default;
        if (value.Length < 2 || value.Length > MaxDigits + 1)
        {
            return false;
        }
        long amount = 0;
        foreach (var c in value[..^1])
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
            amount = (amount * 10) + (c - '0');
        }
        // 99,999,999 hours is about 11,400 years: within TimeSpan's range in every unit.
        timeout = value[^1] switch
        {
            'H' => TimeSpan.FromHours(amount),
            'M' => TimeSpan.FromMinutes(amount),
            'S' => TimeSpan.FromSeconds(amount),
            'm' => TimeSpan.FromMilliseconds(amount),
            'u' => TimeSpan.FromTicks(amount * 10),
            'n' => TimeSpan.FromTicks((amount + 99) / 100),
            _ => TimeSpan.MinValue,
        };
        return timeout != TimeSpan.MinValue;
    }

    /// <summary>Formats a timeout in the finest unit that fits in 8 digits (rounded up), as a client would send it.</summary>
    public static string Format(TimeSpan timeout)
    {
        var ticks = Math.Max(0, timeout.Ticks);
        const long Max = 99_999_999;
        if (ticks <= Max / 100)
        {
            return (ticks * 100).ToString(System.Globalization.CultureInfo.InvariantCulture) + "n";
        }
        ReadOnlySpan<(long TicksPerUnit, char Unit)> units =
        [
            (10, 'u'), (TimeSpan.TicksPerMillisecond, 'm'), (TimeSpan.TicksPerSecond, 'S'), (TimeSpan.TicksPerMinute, 'M'), (TimeSpan.TicksPerHour, 'H'),
        ];
        foreach (var (perUnit, unit) in units)
        {
            var amount = (ticks + perUnit - 1) / perUnit;
            if (amount <= Max)
            {
                return amount.ToString(System.Globalization.CultureInfo.InvariantCulture) + unit;
            }
        }
        return Max.ToString(System.Globalization.CultureInfo.InvariantCulture) + "H";
    }
}
