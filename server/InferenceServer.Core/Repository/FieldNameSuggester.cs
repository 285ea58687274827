using Google.Protobuf.Reflection;

namespace InferenceServer.Core.Repository;

/// <summary>
/// Finds the known field a misspelt one most likely meant: the smallest optimal-string-alignment distance (edits plus
/// swaps of neighbours, so <c>dmis</c> is one step from <c>dims</c>), within a budget that grows with the name, or a
/// known name the unknown one begins (<c>max_batch</c> for <c>max_batch_size</c>).
/// </summary>
internal static class FieldNameSuggester
{
    /// <summary>The field of <paramref name="message"/> closest to <paramref name="unknown"/>, or null when none is close enough.</summary>
    public static string? Closest(string unknown, MessageDescriptor message)
    {
        var fields = message.Fields.InDeclarationOrder();
        var known = new string[fields.Count];
        for (var i = 0; i < known.Length; i++)
        {
            known[i] = fields[i].Name;
        }
        return Closest(unknown, known);
    }

    /// <summary>The closest of <paramref name="known"/> to <paramref name="unknown"/>, or null when none is close enough.</summary>
    public static string? Closest(string unknown, IReadOnlyList<string> known)
    {
        // A third of the name may be wrong, at least two characters: enough for a missing or doubled
        // underscore and a typo together, too little to turn one short word into another.
        var budget = Math.Max(2, unknown.Length / 3);
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in known)
        {
            var distance = Distance(unknown, candidate);
            if (distance > budget && !(unknown.Length >= 3 && candidate.StartsWith(unknown, StringComparison.Ordinal)))
            {
                continue;
            }
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }
        return best;
    }

    /// <summary>Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps, each 1.</summary>
    public static int Distance(string a, string b)
    {
        // Three rows suffice: a swap looks two rows back.
        var previous2 = new int[b.Length + 1];
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                var value = Math.Min(Math.Min(previous[j] + 1, current[j - 1] + 1), previous[j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    value = Math.Min(value, previous2[j - 2] + 1);
                }
                current[j] = value;
            }
            (previous2, previous, current) = (previous, current, previous2);
        }
        return previous[b.Length];
    }
}
