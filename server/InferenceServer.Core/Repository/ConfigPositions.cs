namespace InferenceServer.Core.Repository;

/// <summary>
/// Where each field of a config was written, by field path (<c>input[1].dims[0]</c>, <c>parameters[2].key</c>), so
/// that checks made on the message after it was read can point into the file. A path that was not written is placed
/// where its nearest written parent was (a missing <c>input[0].name</c> at its <c>input</c>), as a reader would look
/// for it. Map entries are indexed in the order written, duplicates included, and their keys are remembered, since
/// the map itself keeps one entry per key.
/// </summary>
internal sealed class ConfigPositions
{
    private readonly Dictionary<string, (int Line, int Column, int ValueLine, int ValueColumn)> _byPath = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<string, int>> _entryIndex = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<(string Key, int Index)>> _duplicates = new(StringComparer.Ordinal);

    /// <summary>Notes where <paramref name="path"/> was written; the first occurrence of a path wins.</summary>
    public void Add(string path, int line, int column, int valueLine, int valueColumn) =>
        _byPath.TryAdd(path, (line, column, valueLine, valueColumn));

    /// <summary>Notes that entry <paramref name="index"/> of the map at <paramref name="mapPath"/> has <paramref name="key"/>.</summary>
    public void AddMapEntry(string mapPath, string key, int index)
    {
        if (!_entryIndex.TryGetValue(mapPath, out var keys))
        {
            keys = new Dictionary<string, int>(StringComparer.Ordinal);
            _entryIndex[mapPath] = keys;
        }
        if (keys.ContainsKey(key))
        {
            if (!_duplicates.TryGetValue(mapPath, out var repeated))
            {
                repeated = [];
                _duplicates[mapPath] = repeated;
            }
            repeated.Add((key, index));
        }
        // The map keeps the last value given for a key, so its entry is the last one written.
        keys[key] = index;
    }

    /// <summary>True when the config wrote <paramref name="path"/> (a proto3 scalar at its default looks unset otherwise).</summary>
    public bool Has(string path) => _byPath.ContainsKey(path);

    /// <summary>The index, in the order written, of the entry that holds <paramref name="key"/> in the map at <paramref name="mapPath"/>.</summary>
    public int EntryIndex(string mapPath, string key) =>
        _entryIndex.TryGetValue(mapPath, out var keys) && keys.TryGetValue(key, out var index) ? index : 0;

    /// <summary>The entries of the map at <paramref name="mapPath"/> that repeat a key written before them.</summary>
    public IReadOnlyList<(string Key, int Index)> Duplicates(string mapPath) =>
        _duplicates.TryGetValue(mapPath, out var repeated) ? repeated : [];

    /// <summary>Where the field's name was written, or its nearest written parent's; 1:1 when none was.</summary>
    public (int Line, int Column) Field(string path)
    {
        for (var p = path; p.Length > 0; p = Parent(p))
        {
            if (_byPath.TryGetValue(p, out var at))
            {
                return (at.Line, at.Column);
            }
        }
        return (1, 1);
    }

    /// <summary>Where the field's value was written; when it was not, where its nearest written parent's name was.</summary>
    public (int Line, int Column) Value(string path) =>
        _byPath.TryGetValue(path, out var at) ? (at.ValueLine, at.ValueColumn) : Field(Parent(path));

    // input[0].dims[1] → input[0].dims → input[0] → input → "".
    private static string Parent(string path)
    {
        var cut = path.AsSpan().LastIndexOfAny('.', '[');
        return cut < 0 ? "" : path[..cut];
    }
}
