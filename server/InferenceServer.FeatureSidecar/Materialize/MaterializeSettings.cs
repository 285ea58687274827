using InferenceServer.FeatureSidecar.Stores;

namespace InferenceServer.FeatureSidecar.Materialize;

/// <summary>What <c>materialize</c>'s flags say.</summary>
internal sealed record MaterializeSettings(IMaterializeView View, string From, StoreAddress Store, TimeSpan? Ttl, int BatchSize);
