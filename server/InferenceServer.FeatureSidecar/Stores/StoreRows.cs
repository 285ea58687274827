namespace InferenceServer.FeatureSidecar.Stores;

/// <summary>
/// What a store read for one lookup: per key, when the entity was written (0 = not found) and each asked field's
/// stored bytes (null = absent), row-major.
/// </summary>
internal sealed class StoreRows
{
    public StoreRows(int rowCount, int fieldCount)
    {
        FieldCount = fieldCount;
        StoredAt = new long[rowCount];
        Values = new ReadOnlyMemory<byte>?[rowCount * fieldCount];
    }

    /// <summary>How many fields each row has.</summary>
    public int FieldCount { get; }

    /// <summary>Per row, the unix milliseconds of the entity's write; 0 when the entity was not found.</summary>
    public long[] StoredAt { get; }

    /// <summary>Row-major values: row r's field f at <c>r * FieldCount + f</c>; null when absent.</summary>
    public ReadOnlyMemory<byte>?[] Values { get; }
}
