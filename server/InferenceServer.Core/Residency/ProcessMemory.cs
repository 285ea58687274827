using System.Globalization;

namespace InferenceServer.Core.Residency;

/// <summary>
/// The process's resident memory (RSS) and the machine's: what a load's CPU footprint is measured with, and what a
/// fractional <c>--model-memory-budget</c> is a fraction of.
/// </summary>
internal static class ProcessMemory
{
    /// <summary>
    /// The process's resident bytes now: /proc/self/statm on Linux (one small read, no process snapshot), else the
    /// working set the runtime reports.
    /// </summary>
    public static long ResidentBytes()
    {
        if (OperatingSystem.IsLinux())
        {
            try
            {
                // "size resident shared ..." in pages.
                var fields = File.ReadAllText("/proc/self/statm").Split(' ');
                if (fields.Length > 1 && long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pages))
                {
                    return pages * Environment.SystemPageSize;
                }
            }
            catch (IOException)
            {
                // Fall back to the working set below.
            }
        }
        return Environment.WorkingSet;
    }

    /// <summary>
    /// Starts a new resident high-water mark at the memory held now (Linux: "5" written to /proc/self/clear_refs, which
    /// resets VmHWM), so that <see cref="PeakResidentBytes"/> then tells the most the process held since. False where it
    /// cannot (not Linux, or the file is not writable, as in some sandboxes).
    /// </summary>
    public static bool ResetPeak()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The most resident memory the process has held since it started or since <see cref="ResetPeak"/> (VmHWM); null where unknown.</summary>
    public static long? PeakResidentBytes()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                // "VmHWM:     123456 kB"
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal)
                    && long.TryParse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var kilobytes))
                {
                    return kilobytes * 1024;
                }
            }
        }
        catch (IOException)
        {
            // Unknown, as where there is no such file.
        }
        return null;
    }

    /// <summary>The memory this process may use: the machine's RAM, or its container's limit when lower (as the GC sees it).</summary>
    public static long TotalBytes() => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
}
