namespace InferenceServer.Hosting;

/// <summary>The server cannot start as configured (a port is taken, a model failed with --exit-on-error); the message says why, in one line.</summary>
internal sealed class ServerStartException(string message, Exception? innerException = null) : Exception(message, innerException);
