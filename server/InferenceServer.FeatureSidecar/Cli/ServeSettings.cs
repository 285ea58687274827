using InferenceServer.FeatureSidecar.Stores;

namespace InferenceServer.FeatureSidecar.Cli;

/// <summary>What <c>serve</c>'s flags say.</summary>
internal sealed record ServeSettings(string SocketPath, StoreAddress Store, int? MetricsPort, int MaxInFlight);
