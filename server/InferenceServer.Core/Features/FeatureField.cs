namespace InferenceServer.Core.Features;

/// <summary>A raw field of a view: a request field and the store hash field of the same name.</summary>
public sealed class FeatureField
{
    internal FeatureField(string name, int index, FeatureKind kind, bool fromRequest, int storeIndex)
    {
        Name = name;
        Index = index;
        Kind = kind;
        FromRequest = fromRequest;
        StoreIndex = storeIndex;
    }

    /// <summary>The field's name, as a request and the store spell it.</summary>
    public string Name { get; }

    /// <summary>Its index in <see cref="FeatureView.Fields"/>: the field argument of <see cref="FeatureRows"/>' setters.</summary>
    public int Index { get; }

    /// <summary>Whether it holds a number or a text.</summary>
    public FeatureKind Kind { get; }

    /// <summary>True when a request's value is read (it wins over the store's).</summary>
    public bool FromRequest { get; }

    /// <summary>Its index in <see cref="FeatureView.StoreFields"/>; -1 when the store is never asked for it.</summary>
    public int StoreIndex { get; }

    /// <summary>True when the store is asked for it.</summary>
    public bool FromStore => StoreIndex >= 0;

    /// <inheritdoc />
    public override string ToString() => Name;
}
