using InferenceServer.Core.Inference;

namespace InferenceServer.Core.Features;

/// <summary>
/// The raw rows a request asks a feature view to turn into model inputs: per row, an entity (its key values, to look
/// up in the online store) and/or a record's fields (taken as given). Protocols fill it from what the client sent;
/// the feature stage checks the names against the view.
/// </summary>
public sealed class FeatureQuery
{
    private readonly List<Value> _entities = [];
    private readonly List<Value> _fields = [];

    /// <summary>How many rows the query has.</summary>
    public int Rows { get; private set; }

    /// <summary>True when some row names an entity (so the online store is read).</summary>
    public bool HasEntities => _entities.Count > 0;

    internal List<Value> Entities => _entities;

    internal List<Value> Fields => _fields;

    /// <summary>Starts a row; returns its index.</summary>
    public int AddRow() => Rows++;

    /// <summary>Key <paramref name="key"/> of row <paramref name="row"/>'s entity is <paramref name="value"/>.</summary>
    public void AddEntityValue(int row, string key, string value) => _entities.Add(new Value(row, key, value, 0));

    /// <summary>Field <paramref name="field"/> of row <paramref name="row"/> is the text <paramref name="value"/>.</summary>
    public void AddText(int row, string field, string value) => _fields.Add(new Value(row, field, value, 0));

    /// <summary>Field <paramref name="field"/> of row <paramref name="row"/> is the number <paramref name="value"/>.</summary>
    public void AddNumber(int row, string field, double value) => _fields.Add(new Value(row, field, null, value));

    /// <summary>
    /// The one-row query a request's flattened parameters (<c>entity.*</c>, <c>record.*</c>) make; null when it has none.
    /// Values are text, as the parameters hold them; the view parses those of number fields.
    /// </summary>
    public static FeatureQuery? FromParameters(IReadOnlyDictionary<string, string>? parameters)
    {
        if (parameters is null)
        {
            return null;
        }
        FeatureQuery? query = null;
        foreach (var (name, value) in parameters)
        {
            if (name.StartsWith(FeatureParameters.EntityPrefix, StringComparison.Ordinal))
            {
                query ??= OneRow();
                query.AddEntityValue(0, Suffix(name, FeatureParameters.EntityPrefix), value);
            }
            else if (name.StartsWith(FeatureParameters.RecordPrefix, StringComparison.Ordinal))
            {
                query ??= OneRow();
                query.AddText(0, Suffix(name, FeatureParameters.RecordPrefix), value);
            }
        }
        return query;
    }

    private static FeatureQuery OneRow()
    {
        var query = new FeatureQuery();
        query.AddRow();
        return query;
    }

    private static string Suffix(string name, string prefix) =>
        name.Length > prefix.Length
            ? name[prefix.Length..]
            : throw InferenceException.Invalid($"parameter '{name}' names no key or field: write {prefix}<name>");

    /// <summary>One value of a row: text (<see cref="Text"/> set) or a number.</summary>
    internal readonly record struct Value(int Row, string Name, string? Text, double Number);
}
