namespace InferenceServer.Core.Repository;

/// <summary>One model's folder in a Triton-style repository.</summary>
/// <param name="Name">Folder name, which is the model's name.</param>
/// <param name="Path">Absolute path of the folder.</param>
/// <param name="ConfigPath">Path of <c>config.pbtxt</c>, or null when the folder has none.</param>
/// <param name="Versions">Numeric sub-folders: version number → absolute path.</param>
internal sealed record ModelDirectory(string Name, string Path, string? ConfigPath, IReadOnlyDictionary<long, string> Versions);
