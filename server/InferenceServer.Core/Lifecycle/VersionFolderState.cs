namespace InferenceServer.Core.Lifecycle;

/// <summary>One scan's look at a version folder.</summary>
/// <param name="Path">Absolute path.</param>
/// <param name="Signature">Its <see cref="Repository.FolderSignature"/>; empty when it holds no file.</param>
/// <param name="HasMarker">True when it holds the completion marker file.</param>
internal sealed record VersionFolderState(string Path, string Signature, bool HasMarker);
