using System.Globalization;
using System.Text.RegularExpressions;

namespace InferenceServer.Core.Lifecycle;

/// <summary>
/// Names the folders uploaded model files are written to, after the process that owns them, so that a server started
/// after one that was killed (kill -9 runs no cleanup) can tell that server's folders from those of a server still
/// running next to it, and remove them.
/// </summary>
internal static partial class UploadFolders
{
    /// <summary>A fresh folder name owned by this process: <c>upload-&lt;pid&gt;-&lt;32 hex digits&gt;</c>.</summary>
    public static string NewName() =>
        string.Create(CultureInfo.InvariantCulture, $"upload-{Environment.ProcessId}-{Guid.NewGuid():N}");

    /// <summary>
    /// Deletes the folders under <paramref name="parent"/> named as <see cref="NewName"/> names them whose process is
    /// gone; anything else there (another program's files, a running server's uploads) is left alone. Returns how
    /// many it deleted.
    /// </summary>
    public static int RemoveStale(string parent)
    {
        if (!Directory.Exists(parent))
        {
            return 0;
        }
        var removed = 0;
        foreach (var folder in Directory.EnumerateDirectories(parent))
        {
            var match = Owned().Match(Path.GetFileName(folder));
            if (!match.Success
                || !int.TryParse(match.Groups["pid"].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                || pid == Environment.ProcessId
                || IsRunning(pid))
            {
                continue;
            }
            try
            {
                Directory.Delete(folder, recursive: true);
                removed++;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Left for the next start; it holds nothing anyone uses.
            }
        }
        return removed;
    }

    private static bool IsRunning(int pid)
    {
        if (OperatingSystem.IsLinux())
        {
            return Directory.Exists(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}"));
        }
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    [GeneratedRegex("^upload-(?<pid>[0-9]{1,10})-[0-9a-f]{32}$", RegexOptions.CultureInvariant)]
    private static partial Regex Owned();
}
