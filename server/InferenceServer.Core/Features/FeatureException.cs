namespace InferenceServer.Core.Features;

/// <summary>
/// A row a view cannot encode: a value missing without a default, expired by its TTL, not a number, outside what a
/// transform takes. The message names the row, the field and why; the protocols answer it as a bad request.
/// </summary>
public sealed class FeatureException : Exception
{
    /// <summary>Creates the exception for <paramref name="row"/>'s <paramref name="field"/>.</summary>
    public FeatureException(int row, string field, string reason)
        : base($"row {row}: field '{field}': {reason}")
    {
        Row = row;
        Field = field;
        Reason = reason;
    }

    /// <summary>The row, 0-based, in the order the rows were given.</summary>
    public int Row { get; }

    /// <summary>The raw field.</summary>
    public string Field { get; }

    /// <summary>What is wrong with it.</summary>
    public string Reason { get; }
}
