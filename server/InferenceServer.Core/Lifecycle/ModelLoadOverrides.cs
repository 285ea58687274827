namespace InferenceServer.Core.Lifecycle;

/// <summary>
/// What a repository-API load may carry instead of the repository's own files: a model config in
/// JSON (Triton's <c>config</c> parameter) and model files (Triton's <c>file:&lt;version&gt;/&lt;name&gt;</c>
/// parameters). Files replace the model's folder: they are written into a fresh folder that the
/// model loads from, and <see cref="ConfigJson"/> must then be given too.
/// </summary>
/// <param name="ConfigJson">The model config as JSON (protobuf's JSON mapping of ModelConfig); null to use the folder's config.pbtxt.</param>
/// <param name="Files">File contents keyed by their path relative to the model folder, e.g. <c>1/model.onnx</c> (what follows <c>file:</c>).</param>
public sealed record ModelLoadOverrides(string? ConfigJson, IReadOnlyDictionary<string, ReadOnlyMemory<byte>> Files);
