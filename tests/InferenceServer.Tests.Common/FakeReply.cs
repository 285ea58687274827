using InferenceServer.Core.Features.Sidecar;

namespace InferenceServer.Tests.Common;

/// <summary>What the fake sidecar answers a lookup: a status and message, and for ok one row per key.</summary>
internal sealed record FakeReply(SidecarStatus Status, string Message, (long StoredAt, string?[] Values)[] Rows);
