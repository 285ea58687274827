namespace InferenceServer.Core.Features;

/// <summary>
/// A feature compiled for the engine: which raw value it reads (request and/or store), how it encodes it, and its
/// default already encoded, so a missing value costs a copy.
/// </summary>
internal sealed class FeatureColumn
{
    public FeatureColumn(string name, FeatureField field, bool fromRequest, int storeIndex, long ttlMilliseconds, FeatureEncoding encoding,
        NumberOp[] ops, Dictionary<string, int>? vocabulary, bool oovBucket)
    {
        Name = name;
        Field = field;
        FromRequest = fromRequest;
        StoreIndex = storeIndex;
        TtlMilliseconds = ttlMilliseconds;
        Encoding = encoding;
        Ops = ops;
        Vocabulary = vocabulary;
        Lookup = vocabulary?.GetAlternateLookup<ReadOnlySpan<char>>() ?? default;
        OovBucket = oovBucket;
        VocabularySize = vocabulary?.Count ?? 0;
        Width = encoding == FeatureEncoding.OneHot ? VocabularySize + (oovBucket ? 1 : 0) : 1;
    }

    /// <summary>The feature's name.</summary>
    public string Name { get; }

    /// <summary>The raw field it reads.</summary>
    public FeatureField Field { get; }

    /// <summary>True when it reads a request's value.</summary>
    public bool FromRequest { get; }

    /// <summary>Its raw field's index among the store fields; -1 when it reads no stored value.</summary>
    public int StoreIndex { get; }

    /// <summary>A stored value older than this counts as missing; 0: never.</summary>
    public long TtlMilliseconds { get; }

    public FeatureEncoding Encoding { get; }

    /// <summary>The numeric transforms, in order (after the ordinal index, for an ordinal feature).</summary>
    public NumberOp[] Ops { get; }

    /// <summary>Value → index, for one_hot and ordinal; null for numbers.</summary>
    public Dictionary<string, int>? Vocabulary { get; }

    /// <summary>The vocabulary looked up by a span, so that decoded or request text needs no string.</summary>
    public Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> Lookup { get; }

    public bool OovBucket { get; }

    public int VocabularySize { get; }

    /// <summary>Columns it spans in its output.</summary>
    public int Width { get; }

    /// <summary>True when a missing value takes the default rather than refusing the row.</summary>
    public bool HasDefault { get; private set; }

    /// <summary>The default, encoded: the number for Number and Ordinal, the column (or -1 for none) for OneHot.</summary>
    public double DefaultEncoded { get; private set; }

    /// <summary>Records the default once it is encoded (the compiler encodes it with this column's own transforms).</summary>
    public void SetDefault(double encoded)
    {
        HasDefault = true;
        DefaultEncoded = encoded;
    }
}
