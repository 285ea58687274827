using System.Globalization;

namespace InferenceServer.Core.Repository;

/// <summary>
/// Reads the layout of a Triton-style repository: <c>&lt;repo&gt;/&lt;model&gt;/config.pbtxt</c> and
/// <c>&lt;repo&gt;/&lt;model&gt;/&lt;version&gt;/…</c>. Non-numeric sub-folders are not versions and are ignored,
/// as are hidden folders.
/// </summary>
public static class ModelRepositoryScanner
{
    /// <summary>The config file name Triton uses.</summary>
    public const string ConfigFileName = "config.pbtxt";

    /// <summary>Every model folder in <paramref name="repositoryPath"/>, sorted by name.</summary>
    public static IReadOnlyList<ModelDirectory> Scan(string repositoryPath)
    {
        if (!Directory.Exists(repositoryPath))
        {
            throw new DirectoryNotFoundException($"model repository '{repositoryPath}' does not exist");
        }
        var models = new List<ModelDirectory>();
        foreach (var folder in Directory.EnumerateDirectories(repositoryPath).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(folder);
            if (!name.StartsWith('.'))
            {
                models.Add(ScanModel(folder));
            }
        }
        return models;
    }

    /// <summary>One model folder.</summary>
    public static ModelDirectory ScanModel(string modelPath)
    {
        var fullPath = Path.GetFullPath(modelPath);
        var config = Path.Combine(fullPath, ConfigFileName);
        var versions = new SortedDictionary<long, string>();
        foreach (var folder in Directory.EnumerateDirectories(fullPath))
        {
            var name = Path.GetFileName(folder);
            if (long.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var version))
            {
                versions[version] = folder;
            }
        }
        return new ModelDirectory(Path.GetFileName(fullPath), fullPath, File.Exists(config) ? config : null, versions);
    }
}
