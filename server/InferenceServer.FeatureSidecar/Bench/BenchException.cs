namespace InferenceServer.FeatureSidecar.Bench;

/// <summary>A bench run that cannot go on (the sidecar is not there, or went away); the message says why.</summary>
internal sealed class BenchException(string message) : Exception(message);
