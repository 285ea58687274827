namespace InferenceServer.FeatureSidecar.Materialize;

/// <summary>
/// What materialize needs of a feature view: the columns to read (entity keys, then the store fields) and how an
/// entity's store key is formed.
/// </summary>
internal interface IMaterializeView
{
    string Name { get; }

    /// <summary>The entity key columns, in the key pattern's order.</summary>
    IReadOnlyList<string> EntityKeys { get; }

    /// <summary>The raw fields the store holds for the view (hash fields of the same names).</summary>
    IReadOnlyList<string> StoreFields { get; }

    /// <summary>The store key of the entity whose key values are <paramref name="entityValues"/> (in <see cref="EntityKeys"/> order).</summary>
    string StoreKey(ReadOnlySpan<string> entityValues);
}
