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

    /// <summary>The memory this process may use: the machine's RAM, or its container's limit when lower (as the GC sees it).</summary>
    public static long TotalBytes() => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
}
