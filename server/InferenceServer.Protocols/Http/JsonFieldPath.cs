namespace InferenceServer.Protocols.Http;

/// <summary>
/// Where a field sits in a request (<c>inputs[2].parameters.binary_data_size</c>), for error messages.
/// It is text only when an error is written: building the path on every field read cost each
/// request a handful of strings it never used.
/// </summary>
internal readonly struct JsonFieldPath
{
    private readonly string _array;
    private readonly int _index;
    private readonly string? _member;

    /// <summary>The path <c><paramref name="array"/>[<paramref name="index"/>]</c>, then <c>.<paramref name="member"/></c> when given.</summary>
    public JsonFieldPath(string array, int index, string? member = null)
    {
        _array = array;
        _index = index;
        _member = member;
    }

    private JsonFieldPath(string name)
    {
        _array = name;
        _index = -1;
    }

    /// <summary>A top-level field, such as <c>parameters.priority</c>.</summary>
    public static implicit operator JsonFieldPath(string name) => new(name);

    public override string ToString() =>
        _index < 0 ? _array : _member is null ? $"{_array}[{_index}]" : $"{_array}[{_index}].{_member}";
}
