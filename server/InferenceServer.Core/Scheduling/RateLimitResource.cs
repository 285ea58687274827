using System.Globalization;

namespace InferenceServer.Core.Scheduling;

/// <summary>
/// One <c>--rate-limit-resource</c>: <c>name:count</c> sets the total of a resource on every device (and of a global
/// one), <c>name:count:device</c> on one device only, as Triton spells it.
/// </summary>
/// <param name="Name">The resource's name, as instance groups' <c>rate_limiter</c> name it.</param>
/// <param name="Count">How many copies exist.</param>
/// <param name="Device">The device they exist on; null for every device.</param>
internal sealed record RateLimitResource(string Name, int Count, int? Device)
{
    /// <summary>Reads <paramref name="text"/>; throws <see cref="ArgumentException"/> saying what is wrong and what is expected.</summary>
    public static RateLimitResource Parse(string text)
    {
        var parts = text.Split(':');
        if (parts.Length is < 2 or > 3)
        {
            throw Invalid(text, "expected <name>:<count> or <name>:<count>:<device>");
        }
        var name = parts[0].Trim();
        if (name.Length == 0)
        {
            throw Invalid(text, "the resource name is empty; expected <name>:<count>[:<device>]");
        }
        if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var count))
        {
            throw Invalid(text, $"the count '{parts[1]}' is not a whole number from 0 to {int.MaxValue}");
        }
        int? device = null;
        if (parts.Length == 3)
        {
            if (!int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var ordinal))
            {
                throw Invalid(text, $"the device '{parts[2]}' is not a device number (0 or more)");
            }
            device = ordinal;
        }
        return new RateLimitResource(name, count, device);
    }

    private static ArgumentException Invalid(string text, string problem) =>
        new($"--rate-limit-resource '{text}' is not valid: {problem}");
}
