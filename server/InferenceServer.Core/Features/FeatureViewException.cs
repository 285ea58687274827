namespace InferenceServer.Core.Features;

/// <summary>
/// A features.pbtxt that cannot be used: a syntax error, an unknown field, a wrong value, or a view that does not fit
/// its model. The message reads <c>view/features.pbtxt:line:column: field: reason</c>.
/// </summary>
public sealed class FeatureViewException : Exception
{
    /// <summary>Creates the exception with its whole message.</summary>
    public FeatureViewException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
