using System.Runtime.InteropServices;

namespace InferenceServer.Hosting;

/// <summary>
/// The process's file-descriptor limit (<c>RLIMIT_NOFILE</c>) and how many descriptors are open, so the connection limit
/// can sit below the point where the runtime itself can no longer open a file and aborts the process.
/// </summary>
internal static partial class DescriptorLimit
{
    // <sys/resource.h> on Linux.
    private const int NoFileResource = 7;

    /// <summary>The soft limit on open descriptors (the runtime raises it to the hard limit at start); null where unknown or unlimited.</summary>
    public static long? Current()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }
        try
        {
            return GetRLimit(NoFileResource, out var limit) == 0 && limit.Current < long.MaxValue ? (long)limit.Current : null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    /// <summary>How many descriptors the process holds now; 0 where that cannot be read.</summary>
    public static int Open()
    {
        try
        {
            return Directory.GetFileSystemEntries("/proc/self/fd").Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc.so.6", EntryPoint = "getrlimit")]
    private static partial int GetRLimit(int resource, out RLimit limit);
}
