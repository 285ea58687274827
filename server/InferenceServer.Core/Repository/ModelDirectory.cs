namespace InferenceServer.Core.Repository;

/// <summary>One model's folder in a Triton-style repository.</summary>
/// <param name="Name">Folder name, which is the model's name.</param>
/// <param name="Path">Absolute path of the folder.</param>
/// <param name="ConfigPath">Path of <c>config.pbtxt</c>, or null when the folder has none.</param>
/// <param name="Versions">Numeric sub-folders: version number → absolute path.</param>
internal sealed record ModelDirectory(string Name, string Path, string? ConfigPath, IReadOnlyDictionary<long, string> Versions)
{
    /// <summary>Path of the folder's route declaration (<c>routing.pbtxt</c>), or null when it has none.</summary>
    public string? RoutePath { get; init; }

    /// <summary>Path of the folder's feature view (<c>features.pbtxt</c>), or null when it has none.</summary>
    public string? FeaturesPath { get; init; }

    /// <summary>True when the folder holds a model: a config.pbtxt or version folders (a route beside it routes its versions).</summary>
    public bool HoldsModel => ConfigPath is not null || Versions.Count > 0;

    /// <summary>
    /// True when the folder holds a route and no model: its variants are other models, and it is loaded as a route only,
    /// never as a model that has no versions.
    /// </summary>
    public bool IsRouteOnly => RoutePath is not null && !HoldsModel;
}
