namespace InferenceServer.FeatureSidecar.Serving;

/// <summary>The sidecar cannot start (its socket is taken, its store cannot be opened); the message says why.</summary>
internal sealed class StartupException(string message) : Exception(message);
