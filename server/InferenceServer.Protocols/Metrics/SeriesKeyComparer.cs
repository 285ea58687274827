using System.Globalization;

namespace InferenceServer.Protocols.Metrics;

/// <summary>
/// Compares series keys, and compares a measurement's tag span with a key without building one:
/// the listener's callback runs on the request path, so finding an existing series must not
/// allocate. The hash is a sum of per-tag hashes, so it does not depend on the tags' order.
/// </summary>
internal sealed class SeriesKeyComparer : IEqualityComparer<SeriesKey>, IAlternateEqualityComparer<ReadOnlySpan<KeyValuePair<string, object?>>, SeriesKey>
{
    public static readonly SeriesKeyComparer Instance = new();

    public bool Equals(SeriesKey? x, SeriesKey? y)
    {
        if (ReferenceEquals(x, y))
        {
            return true;
        }
        if (x is null || y is null || x.Hash != y.Hash || x.Labels.Length != y.Labels.Length)
        {
            return false;
        }
        for (var i = 0; i < x.Labels.Length; i++)
        {
            if (!string.Equals(x.Labels[i].Key, y.Labels[i].Key, StringComparison.Ordinal) || !string.Equals(x.Labels[i].Value, y.Labels[i].Value, StringComparison.Ordinal))
            {
                return false;
            }
        }
        return true;
    }

    public int GetHashCode(SeriesKey obj) => obj.Hash;

    public bool Equals(ReadOnlySpan<KeyValuePair<string, object?>> alternate, SeriesKey other)
    {
        if (alternate.Length != other.Labels.Length)
        {
            return false;
        }
        foreach (var tag in alternate)
        {
            if (!Contains(other.Labels, tag))
            {
                return false;
            }
        }
        return true;
    }

    public int GetHashCode(ReadOnlySpan<KeyValuePair<string, object?>> alternate)
    {
        var hash = 0;
        foreach (var tag in alternate)
        {
            hash = unchecked(hash + TagHash(tag.Key, tag.Value as string ?? Text(tag.Value)));
        }
        return hash;
    }

    public SeriesKey Create(ReadOnlySpan<KeyValuePair<string, object?>> alternate)
    {
        var labels = new KeyValuePair<string, string>[alternate.Length];
        var hash = 0;
        for (var i = 0; i < alternate.Length; i++)
        {
            var value = alternate[i].Value as string ?? Text(alternate[i].Value);
            labels[i] = new(alternate[i].Key, value);
            hash = unchecked(hash + TagHash(alternate[i].Key, value));
        }
        Array.Sort(labels, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        return new SeriesKey(labels, hash);
    }

    private static bool Contains(KeyValuePair<string, string>[] labels, KeyValuePair<string, object?> tag)
    {
        foreach (var label in labels)
        {
            if (string.Equals(label.Key, tag.Key, StringComparison.Ordinal))
            {
                return tag.Value is string text ? string.Equals(label.Value, text, StringComparison.Ordinal) : string.Equals(label.Value, Text(tag.Value), StringComparison.Ordinal);
            }
        }
        return false;
    }

    private static int TagHash(string key, string value) => HashCode.Combine(string.GetHashCode(key, StringComparison.Ordinal), string.GetHashCode(value, StringComparison.Ordinal));

    // This server tags with strings; anything else (another library's tags) pays for a conversion.
    private static string Text(object? value) => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";
}
