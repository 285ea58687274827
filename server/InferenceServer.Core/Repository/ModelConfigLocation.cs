namespace InferenceServer.Core.Repository;

/// <summary>
/// How config messages name a place in a config: <c>income/config.pbtxt:3:5</c>. The one spelling for errors, warnings
/// and load-failure notes, and never an absolute server path: the reasons reach clients (repository index, load API).
/// </summary>
internal static class ModelConfigLocation
{
    /// <summary><c>file:line:column</c>.</summary>
    public static string Format(string fileName, int line, int column) => $"{fileName}:{line}:{column}";

    /// <summary>
    /// The name messages use for the config file at <paramref name="configPath"/>: the model folder and the file
    /// (<c>income/config.pbtxt</c>), which is where it lives in the repository.
    /// </summary>
    public static string DisplayName(string configPath)
    {
        var folder = Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(configPath)));
        var file = Path.GetFileName(configPath);
        return string.IsNullOrEmpty(folder) ? file : $"{folder}/{file}";
    }
}
