namespace InferenceServer.Core.Residency;

/// <summary>One budget a load would exceed: which (its resource, its flag, its GPU when it is one), its size, what is loaded against it and what the load needs.</summary>
internal sealed record Shortfall(string Resource, string Flag, int? Device, long Budget, long Used, long Need);
