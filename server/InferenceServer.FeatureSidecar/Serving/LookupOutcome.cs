using InferenceServer.Core.Features.Sidecar;
using InferenceServer.FeatureSidecar.Stores;

namespace InferenceServer.FeatureSidecar.Serving;

/// <summary>How a lookup ended: the rows when <see cref="Status"/> is ok, else the message that says why not.</summary>
internal readonly record struct LookupOutcome(SidecarStatus Status, string Message, StoreRows? Rows);
