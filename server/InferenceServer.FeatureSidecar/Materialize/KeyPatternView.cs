using System.Text;

namespace InferenceServer.FeatureSidecar.Materialize;

/// <summary>
/// A view given on the command line (<c>--key-pattern income:{id} --fields age,workclass</c>): the entity keys are the
/// pattern's <c>{name}</c>s, in order.
/// </summary>
internal sealed class KeyPatternView : IMaterializeView
{
    // The pattern split at its placeholders: literal, key, literal, key, ..., literal (keys at odd indices).
    private readonly string[] _parts;
    private readonly int[] _keyOfPart;

    private KeyPatternView(string name, string[] parts, int[] keyOfPart, string[] entityKeys, string[] storeFields)
    {
        Name = name;
        _parts = parts;
        _keyOfPart = keyOfPart;
        EntityKeys = entityKeys;
        StoreFields = storeFields;
    }

    public string Name { get; }

    public IReadOnlyList<string> EntityKeys { get; }

    public IReadOnlyList<string> StoreFields { get; }

    /// <summary>Parses a key pattern and a comma-separated field list; null with <paramref name="problem"/> when either is wrong.</summary>
    public static KeyPatternView? TryCreate(string name, string pattern, string fields, out string? problem)
    {
        problem = null;
        var parts = new List<string>();
        var keys = new List<string>();
        var keyOfPart = new List<int>();
        var literal = new StringBuilder();
        for (var i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] == '}')
            {
                problem = $"--key-pattern '{pattern}' has a '}}' at {i} that closes nothing; expected text with {{name}} for each entity key";
                return null;
            }
            if (pattern[i] != '{')
            {
                literal.Append(pattern[i]);
                continue;
            }
            var close = pattern.IndexOf('}', i + 1);
            var key = close < 0 ? "" : pattern[(i + 1)..close];
            if (close < 0 || key.Length == 0 || key.Contains('{'))
            {
                problem = $"--key-pattern '{pattern}' has a placeholder at {i} that is not {{name}}; expected text with {{name}} for each entity key";
                return null;
            }
            parts.Add(literal.ToString());
            literal.Clear();
            var index = keys.IndexOf(key);
            if (index < 0)
            {
                index = keys.Count;
                keys.Add(key);
            }
            parts.Add(key);
            keyOfPart.Add(index);
            i = close;
        }
        parts.Add(literal.ToString());
        if (keys.Count == 0)
        {
            problem = $"--key-pattern '{pattern}' names no entity key; expected {{name}} for each, e.g. income:{{id}}";
            return null;
        }
        var storeFields = fields.Split(',', StringSplitOptions.TrimEntries);
        foreach (var field in storeFields)
        {
            if (field.Length == 0 || keys.Contains(field) || field == Stores.StoreLayout.StoredAtField)
            {
                problem = field.Length == 0
                    ? $"--fields '{fields}' has an empty field name; expected names separated by commas"
                    : $"--fields names '{field}', which is {(keys.Contains(field) ? "an entity key" : "reserved for the write time")}; expected the view's store fields";
                return null;
            }
        }
        if (storeFields.Distinct(StringComparer.Ordinal).Count() != storeFields.Length)
        {
            problem = $"--fields '{fields}' names a field twice";
            return null;
        }
        return new KeyPatternView(name, [.. parts], [.. keyOfPart], [.. keys], storeFields);
    }

    public string StoreKey(ReadOnlySpan<string> entityValues)
    {
        var length = 0;
        for (var i = 0; i < _parts.Length; i++)
        {
            length += i % 2 == 0 ? _parts[i].Length : entityValues[_keyOfPart[i / 2]].Length;
        }
        var key = new StringBuilder(length);
        for (var i = 0; i < _parts.Length; i++)
        {
            key.Append(i % 2 == 0 ? _parts[i] : entityValues[_keyOfPart[i / 2]]);
        }
        return key.ToString();
    }
}
