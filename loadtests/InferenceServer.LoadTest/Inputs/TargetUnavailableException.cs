namespace InferenceServer.LoadTest.Inputs;

/// <summary>The server or the model could not be reached or used before the load started: exit code 3.</summary>
internal sealed class TargetUnavailableException(string message) : Exception(message);
