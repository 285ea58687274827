using System.Globalization;
using System.Text;

namespace InferenceServer.Core.Repository;

/// <summary>
/// What a folder's files look like on disk: every file's relative path, size and last-write time.
/// Two equal signatures mean nothing in the folder was written in between (as far as the file
/// system's timestamps tell), so the poller uses it to see whether a version folder is still being
/// copied, and the model lifecycle to see whether a loaded version's files changed.
/// </summary>
internal static class FolderSignature
{
    /// <summary>The signature of <paramref name="path"/> (recursive); empty when it holds no file or is gone.</summary>
    public static string Compute(string path)
    {
        var files = new List<(string Relative, long Length, long Ticks)>();
        try
        {
            foreach (var file in new DirectoryInfo(path).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = false, AttributesToSkip = 0 }))
            {
                files.Add((Path.GetRelativePath(path, file.FullName), file.Length, file.LastWriteTimeUtc.Ticks));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Gone or unreadable while we looked: treat it as changing, the next look decides.
            return "";
        }
        if (files.Count == 0)
        {
            return "";
        }
        files.Sort((a, b) => string.CompareOrdinal(a.Relative, b.Relative));
        var text = new StringBuilder();
        foreach (var (relative, length, ticks) in files)
        {
            text.Append(relative).Append('\t').Append(length.ToString(CultureInfo.InvariantCulture)).Append('\t')
                .Append(ticks.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        return text.ToString();
    }

    /// <summary>The signature of one file (size and last-write time); empty when it does not exist.</summary>
    public static string ComputeFile(string path)
    {
        var file = new FileInfo(path);
        try
        {
            return file.Exists
                ? $"{file.Length.ToString(CultureInfo.InvariantCulture)}\t{file.LastWriteTimeUtc.Ticks.ToString(CultureInfo.InvariantCulture)}"
                : "";
        }
        catch (IOException)
        {
            return "";
        }
    }
}
