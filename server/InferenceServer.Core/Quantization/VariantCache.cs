using System.Globalization;
using System.IO.Hashing;
using System.Text;

namespace InferenceServer.Core.Quantization;

/// <summary>
/// Where a load-time variant is kept between loads: <c>.quantized/</c> in the model folder (hidden, so the repository
/// scanner and the version folders' change detection never see it), one file per version named by the parent file's
/// hash and the settings' <see cref="QuantizeSettings.CacheKey"/>, so a changed model or changed settings make a new
/// variant and the same ones reuse it. A model folder that cannot be written (a read-only repository) caches in the
/// temporary folder instead. Files are written to a temporary name and renamed into place, so a crash or a concurrent
/// load never leaves half a variant under the final name.
/// </summary>
internal static class VariantCache
{
    /// <summary>The cache folder's name in a model folder.</summary>
    public const string FolderName = ".quantized";

    /// <summary>The variant's path for <paramref name="parentPath"/> (version <paramref name="version"/> of the model in <paramref name="modelFolder"/>).</summary>
    public static string PathFor(string modelFolder, long version, string parentPath, QuantizeSettings settings)
    {
        var name = string.Create(CultureInfo.InvariantCulture,
            $"{version}-{FileHash(parentPath):x16}-{XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(settings.CacheKey)):x16}{Path.GetExtension(parentPath)}");
        return Path.Combine(Folder(modelFolder), name);
    }

    /// <summary>
    /// Writes the variant through <paramref name="write"/> (given a temporary path beside the final one) and renames it into
    /// place at <paramref name="path"/>.
    /// </summary>
    public static void Write(string path, Action<string> write)
    {
        var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            write(temporary);
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }

    /// <summary>
    /// Deletes the variants of the same version made from another parent file than <paramref name="path"/>'s: the model
    /// file changed, so they can never be used again. Variants of other settings stay (switching back reuses them).
    /// Best effort: a file that cannot be deleted now is tried again at the next new variant.
    /// </summary>
    public static void PruneStale(string path)
    {
        var name = Path.GetFileName(path);
        var parts = name.Split('-', 3);
        if (parts.Length < 3 || Path.GetDirectoryName(path) is not { } folder)
        {
            return;
        }
        var sameVersion = parts[0] + "-";
        var sameParent = parts[0] + "-" + parts[1] + "-";
        foreach (var file in Directory.EnumerateFiles(folder, sameVersion + "*"))
        {
            var other = Path.GetFileName(file);
            // A .tmp file is another load's variant being written.
            if (!other.StartsWith(sameParent, StringComparison.Ordinal) && !other.EndsWith(".tmp", StringComparison.Ordinal))
            {
                try
                {
                    File.Delete(file);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Kept for now; it only takes room.
                }
            }
        }
    }

    private static string Folder(string modelFolder)
    {
        var preferred = Path.Combine(modelFolder, FolderName);
        try
        {
            Directory.CreateDirectory(preferred);
            // Creating the folder may succeed where writing in it does not (a read-only mount that already has it).
            var probe = Path.Combine(preferred, "." + Guid.NewGuid().ToString("N") + ".probe");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            return preferred;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var fallback = Path.Combine(Path.GetTempPath(), "inference-server-quantized",
                XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(Path.GetFullPath(modelFolder))).ToString("x16", CultureInfo.InvariantCulture));
            Directory.CreateDirectory(fallback);
            return fallback;
        }
    }

    private static ulong FileHash(string path)
    {
        var hash = new XxHash64();
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        hash.Append(stream);
        return hash.GetCurrentHashAsUInt64();
    }
}
