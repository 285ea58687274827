namespace InferenceServer.Hosting;

/// <summary>A profile cannot be built: the message says what is wrong (a missing file, a model without a view, a bad row) and what was expected.</summary>
internal sealed class ProfileException(string message) : Exception(message);
