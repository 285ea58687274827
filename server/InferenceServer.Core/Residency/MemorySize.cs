using System.Globalization;

namespace InferenceServer.Core.Residency;

/// <summary>
/// A memory budget as written on the command line: a number of bytes (<c>8589934592</c>, or with a binary suffix
/// <c>8Gi</c>, <c>512Mi</c>, <c>64Ki</c>) or a fraction of the total (<c>0.75</c>: three quarters of the machine's RAM,
/// or of the GPU's memory).
/// </summary>
internal readonly record struct MemorySize(long Bytes, double Fraction)
{
    /// <summary>The bytes this size comes to out of <paramref name="totalBytes"/>.</summary>
    public long Resolve(long totalBytes) => Fraction > 0 ? (long)(totalBytes * Fraction) : Bytes;

    /// <summary>The size spelled as given: bytes, or a fraction.</summary>
    public override string ToString() => Fraction > 0 ? Fraction.ToString("0.###", CultureInfo.InvariantCulture) : Bytes.ToString(CultureInfo.InvariantCulture);

    /// <summary>Reads <paramref name="text"/>; false (with what was expected in <paramref name="problem"/>) when it is neither a size nor a fraction.</summary>
    public static bool TryParse(string text, out MemorySize size, out string problem)
    {
        size = default;
        problem = "a number of bytes (e.g. 8589934592 or 8Gi, 512Mi, 64Ki) or a fraction of the total above 0 and at most 1 (e.g. 0.75)";
        var span = text.AsSpan().Trim();
        if (span.Contains('.') || span.StartsWith("0"))
        {
            if (double.TryParse(span, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var fraction) && fraction > 0 && fraction <= 1)
            {
                size = new MemorySize(0, fraction);
                return true;
            }
            return false;
        }
        long unit = 1;
        foreach (var (suffix, multiplier) in Suffixes)
        {
            if (span.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                unit = multiplier;
                span = span[..^suffix.Length];
                break;
            }
        }
        if (!long.TryParse(span, NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count < 1 || count > long.MaxValue / unit)
        {
            return false;
        }
        size = new MemorySize(count * unit, 0);
        return true;
    }

    private static readonly (string Suffix, long Multiplier)[] Suffixes =
    [
        ("Ti", 1L << 40), ("Gi", 1L << 30), ("Mi", 1L << 20), ("Ki", 1L << 10),
    ];
}
