namespace InferenceServer.FeatureSidecar.Bench;

/// <summary>What <c>bench</c>'s flags say.</summary>
internal sealed record BenchSettings(string SocketPath, string View, string[] Fields, string[] Keys, int Concurrency, int Connections, TimeSpan Duration, uint TimeoutMilliseconds);
