using System.Globalization;

namespace InferenceServer.Core.Repository;

/// <summary>
/// Reads the layout of a Triton-style repository: <c>&lt;repo&gt;/&lt;model&gt;/config.pbtxt</c>,
/// <c>&lt;repo&gt;/&lt;model&gt;/&lt;version&gt;/…</c> and the route declarations, <c>&lt;repo&gt;/&lt;name&gt;/routing.pbtxt</c>
/// (beside a model, or alone in a folder), and the feature views, <c>&lt;repo&gt;/&lt;name&gt;/features.pbtxt</c>. Non-numeric sub-folders are not versions and are ignored,
/// as are hidden folders.
/// </summary>
internal static class ModelRepositoryScanner
{
    /// <summary>The config file name Triton uses.</summary>
    public const string ConfigFileName = "config.pbtxt";

    /// <summary>The route declaration's file name: beside config.pbtxt it routes the model's versions, alone it routes other models.</summary>
    public const string RouteFileName = "routing.pbtxt";

    /// <summary>The feature view's file name: how a request's raw values become the inputs of the folder's model (or route).</summary>
    public const string FeaturesFileName = "features.pbtxt";

    /// <summary>Why a model whose name is found in two or more repositories is not loaded (Triton's words).</summary>
    public const string DuplicateReason = "model appears in two or more repositories";

    /// <summary>
    /// Every model folder of every repository, sorted by name. A name found in more than one repository is left out and
    /// added to <paramref name="duplicates"/>: as in Triton, names must be unique across the repositories, and such a
    /// model is not loaded from any of them.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">A repository does not exist.</exception>
    public static IReadOnlyList<ModelDirectory> Scan(IEnumerable<string> repositoryPaths, ISet<string> duplicates)
    {
        var byName = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var repositoryPath in repositoryPaths)
        {
            if (!Directory.Exists(repositoryPath))
            {
                throw new DirectoryNotFoundException($"model repository '{repositoryPath}' does not exist");
            }
            foreach (var folder in Directory.EnumerateDirectories(repositoryPath))
            {
                var name = Path.GetFileName(folder);
                if (!name.StartsWith('.') && !byName.TryAdd(name, folder))
                {
                    duplicates.Add(name);
                }
            }
        }
        var models = new List<ModelDirectory>(byName.Count);
        foreach (var (name, folder) in byName)
        {
            if (!duplicates.Contains(name))
            {
                models.Add(ScanModel(folder));
            }
        }
        return models;
    }

    /// <summary>The folders named <paramref name="modelName"/> in the repositories: none, one, or (a duplicate) several.</summary>
    public static IReadOnlyList<string> Locate(IEnumerable<string> repositoryPaths, string modelName)
    {
        var found = new List<string>(1);
        foreach (var repositoryPath in repositoryPaths)
        {
            var folder = Path.Combine(repositoryPath, modelName);
            if (Directory.Exists(folder))
            {
                found.Add(folder);
            }
        }
        return found;
    }

    /// <summary>One model folder.</summary>
    public static ModelDirectory ScanModel(string modelPath)
    {
        var fullPath = Path.GetFullPath(modelPath);
        var config = Path.Combine(fullPath, ConfigFileName);
        var route = Path.Combine(fullPath, RouteFileName);
        var features = Path.Combine(fullPath, FeaturesFileName);
        var versions = new SortedDictionary<long, string>();
        foreach (var folder in Directory.EnumerateDirectories(fullPath))
        {
            var name = Path.GetFileName(folder);
            if (long.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var version))
            {
                versions[version] = folder;
            }
        }
        return new ModelDirectory(Path.GetFileName(fullPath), fullPath, File.Exists(config) ? config : null, versions)
        {
            RoutePath = File.Exists(route) ? route : null,
            FeaturesPath = File.Exists(features) ? features : null,
        };
    }
}
