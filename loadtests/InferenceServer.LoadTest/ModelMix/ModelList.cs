using System.Globalization;
using InferenceServer.LoadTest.Cli;

namespace InferenceServer.LoadTest.ModelMix;

/// <summary>
/// The <c>--models</c> list: names separated by commas, each of which may hold one numeric range in braces, as a shell
/// would expand it: <c>variant_{0..199}</c> is variant_0 … variant_199, <c>a,b,m{1..3}</c> is a, b, m1, m2, m3. Order
/// is kept (it is the rank for a Zipf distribution); a name may appear only once.
/// </summary>
internal static class ModelList
{
    /// <summary>The most names one list may expand to: far beyond a real repository, small enough to catch a typo like {0..1000000}.</summary>
    public const int MaxModels = 100_000;

    public static IReadOnlyList<string> Parse(string text, string flag)
    {
        var names = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var raw in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (raw.Length == 0)
            {
                throw new UsageException($"{flag}: '{text}' has an empty name (two commas, or one at an end)");
            }
            foreach (var name in Expand(raw, flag))
            {
                if (!seen.Add(name))
                {
                    throw new UsageException($"{flag}: model '{name}' is listed twice; each model once (its place is its rank)");
                }
                names.Add(name);
                if (names.Count > MaxModels)
                {
                    throw new UsageException($"{flag}: '{text}' names more than {MaxModels:N0} models");
                }
            }
        }
        return names;
    }

    private static IEnumerable<string> Expand(string item, string flag)
    {
        var open = item.IndexOf('{', StringComparison.Ordinal);
        if (open < 0)
        {
            if (item.Contains('}', StringComparison.Ordinal))
            {
                throw new UsageException($"{flag}: '{item}' has a '}}' without its '{{'");
            }
            return [item];
        }
        var close = item.IndexOf('}', open);
        var dots = close < 0 ? -1 : item.IndexOf("..", open, close - open, StringComparison.Ordinal);
        if (close < 0 || dots < 0 || item.IndexOf('{', open + 1) >= 0 || item.IndexOf('}', close + 1) >= 0
            || !int.TryParse(item.AsSpan(open + 1, dots - open - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var first)
            || !int.TryParse(item.AsSpan(dots + 2, close - dots - 2), NumberStyles.None, CultureInfo.InvariantCulture, out var last))
        {
            throw new UsageException($"{flag}: '{item}' is not a name with one range such as variant_{{0..199}}");
        }
        if (last < first)
        {
            throw new UsageException($"{flag}: '{item}' counts down ({first} to {last}); write the range from low to high");
        }
        if ((long)last - first >= MaxModels)
        {
            throw new UsageException($"{flag}: '{item}' names more than {MaxModels:N0} models");
        }
        var prefix = item[..open];
        var suffix = item[(close + 1)..];
        return Enumerable.Range(first, last - first + 1).Select(i => prefix + i.ToString(CultureInfo.InvariantCulture) + suffix);
    }
}
