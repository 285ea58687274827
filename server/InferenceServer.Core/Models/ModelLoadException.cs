namespace InferenceServer.Core.Models;

/// <summary>A reason a whole model cannot load; caught inside the loader and turned into an UNAVAILABLE entry.</summary>
internal sealed class ModelLoadException(string message) : Exception(message);
