namespace InferenceServer.Core.Repository;

/// <summary>
/// Finds symbolic links on the way to a model's files. A link can point anywhere on the machine, so unless the operator
/// allows following them (<c>--repository-follow-symlinks</c>), a model folder, version folder, config, model file or
/// warm-up file that is one is refused: what a model loads then lies inside its repository, or inside the upload folder.
/// </summary>
internal static class SymbolicLinks
{
    /// <summary>
    /// The first of <paramref name="path"/> and the folders above it, up to and including <paramref name="top"/>, that is
    /// a symbolic link; null when none is (or <paramref name="path"/> is not under <paramref name="top"/>). Paths that do
    /// not exist are not links.
    /// </summary>
    public static string? FirstLink(string top, string path)
    {
        var stop = Path.TrimEndingDirectorySeparator(Path.GetFullPath(top));
        var current = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        if (current != stop && !current.StartsWith(stop + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            return null;
        }
        while (true)
        {
            if (IsLink(current))
            {
                return current;
            }
            if (current.Length <= stop.Length)
            {
                return null;
            }
            current = Path.GetDirectoryName(current)!;
        }
    }

    // An entry the server may not even look at is not a link it would follow: opening it fails on its own.
    private static bool IsLink(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget is not null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The reason a load fails for a link at <paramref name="shown"/> (named as clients may see it).</summary>
    public static string Refused(string shown) =>
        $"'{shown}' is a symbolic link; the server follows links in a model repository only with --repository-follow-symlinks";
}
