namespace InferenceServer.Core.Features;

/// <summary>
/// The request parameters that ask for a feature view's inputs, as every protocol spells them: an entity's key values
/// (<c>entity.id</c>) and a raw record's fields (<c>record.age</c>). REST also takes them as objects
/// (<c>"entity": {"id": "..."}</c>), flattened into these names.
/// </summary>
public static class FeatureParameters
{
    /// <summary>The REST parameter holding an entity's key values as an object.</summary>
    public const string Entity = "entity";

    /// <summary>The REST parameter holding a raw record's fields as an object.</summary>
    public const string Record = "record";

    /// <summary>The prefix of a flattened entity key value: <c>entity.id</c>.</summary>
    public const string EntityPrefix = "entity.";

    /// <summary>The prefix of a flattened record field: <c>record.age</c>.</summary>
    public const string RecordPrefix = "record.";

    /// <summary>The response parameter holding the view's label for the prediction (gRPC, and REST's infer).</summary>
    public const string Prediction = "prediction";

    /// <summary>The response parameter holding the version of the view that made the inputs.</summary>
    public const string ViewVersion = "feature_view_version";

    /// <summary>True when <paramref name="name"/> is a flattened entity key or record field.</summary>
    public static bool IsFeatureParameter(string name) =>
        name.StartsWith(EntityPrefix, StringComparison.Ordinal) || name.StartsWith(RecordPrefix, StringComparison.Ordinal);
}
