namespace InferenceServer.Core.Lifecycle;

/// <summary>One scan's look at a model folder.</summary>
/// <param name="Name">Folder (model) name.</param>
/// <param name="Path">Absolute path.</param>
/// <param name="ConfigSignature">config.pbtxt's size and write time; empty when there is none.</param>
/// <param name="Versions">Numeric sub-folders.</param>
/// <param name="RouteSignature">routing.pbtxt's size and write time; empty when there is none.</param>
/// <param name="FeaturesSignature">features.pbtxt's size and write time; empty when there is none.</param>
internal sealed record ModelFolderState(string Name, string Path, string ConfigSignature, IReadOnlyDictionary<long, VersionFolderState> Versions,
    string RouteSignature = "", string FeaturesSignature = "");
