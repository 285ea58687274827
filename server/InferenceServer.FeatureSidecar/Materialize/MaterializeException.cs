namespace InferenceServer.FeatureSidecar.Materialize;

/// <summary>A materialize run that cannot go on (a missing column, an unreadable file); the message says why.</summary>
internal sealed class MaterializeException(string message) : Exception(message);
