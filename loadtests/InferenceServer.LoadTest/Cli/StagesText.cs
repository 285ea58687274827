using System.Globalization;
using InferenceServer.LoadTest.Load;

namespace InferenceServer.LoadTest.Cli;

/// <summary>
/// <c>--stages "10s:100,20s:500"</c>: legs of <c>duration:target</c>, the level ramping linearly from the previous
/// target (0 before the first) to each leg's target over its duration. A leg of duration 0 jumps.
/// </summary>
internal static class StagesText
{
    public static IReadOnlyList<Stage> Parse(string text)
    {
        var stages = new List<Stage>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = part.LastIndexOf(':');
            if (colon <= 0 || colon == part.Length - 1)
            {
                throw new UsageException($"--stages: '{part}' is not duration:target (example: 10s:100,20s:500)");
            }
            var duration = DurationText.Parse(part[..colon], "--stages");
            if (!double.TryParse(part.AsSpan(colon + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var target) || target < 0 || !double.IsFinite(target))
            {
                throw new UsageException($"--stages: '{part[(colon + 1)..]}' in '{part}' is not a non-negative number");
            }
            stages.Add(new Stage(duration, target));
        }
        if (stages.Count == 0)
        {
            throw new UsageException("--stages: no stages given (example: 10s:100,20s:500)");
        }
        if (stages.TrueForAll(s => s.Duration == TimeSpan.Zero))
        {
            throw new UsageException("--stages: the stages add up to no time at all");
        }
        return stages;
    }

    public static string Format(IReadOnlyList<Stage> stages) =>
        string.Join(',', stages.Select(s => DurationText.Format(s.Duration) + ":" + s.Target.ToString("0.###", CultureInfo.InvariantCulture)));
}
