namespace InferenceServer.Core.Backends;

/// <summary>What executes a backend's models, as the server metadata and the startup log name it.</summary>
/// <param name="Backend">The config <c>backend</c> name, e.g. <c>onnxruntime</c>.</param>
/// <param name="Runtime">The runtime's own name, e.g. <c>ONNX Runtime</c>.</param>
/// <param name="Version">The runtime's version, e.g. <c>1.32.0</c>; a short reason instead when it could not be loaded.</param>
/// <param name="Flavor">Which build of it this server carries, e.g. <c>cpu</c> or <c>gpu</c>.</param>
public sealed record BackendRuntime(string Backend, string Runtime, string Version, string Flavor);
