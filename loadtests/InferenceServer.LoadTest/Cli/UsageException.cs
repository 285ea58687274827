namespace InferenceServer.LoadTest.Cli;

/// <summary>Bad command-line usage (unknown flag, malformed value, contradictory flags): exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
