namespace InferenceServer.FeatureSidecar.Stores;

/// <summary>
/// A batch of entities for a store to write (materialize): each a store key and the value of every field of
/// <see cref="Fields"/> (null = absent: the field is removed, so the entity's hash becomes the row).
/// </summary>
internal sealed class EntityBatch(string[] fields)
{
    private readonly List<string> _keys = [];
    private readonly List<string?[]> _values = [];

    /// <summary>The fields every entity of the batch has a value (or null) for, in order.</summary>
    public string[] Fields { get; } = fields;

    public int Count => _keys.Count;

    public string Key(int index) => _keys[index];

    public string?[] Values(int index) => _values[index];

    public void Add(string key, string?[] values)
    {
        _keys.Add(key);
        _values.Add(values);
    }
}
