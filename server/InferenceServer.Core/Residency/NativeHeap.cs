using System.Runtime.InteropServices;

namespace InferenceServer.Core.Residency;

/// <summary>
/// Gives the native heap's free memory back to the operating system after a model's instances are released. The server
/// fixes glibc's mmap threshold at start, so model-sized blocks (the weights) are mapped on their own and unmapped when
/// freed; the smaller blocks ONNX Runtime frees with a session (its graph, kernels, per-thread buffers) stay in glibc's
/// arenas as holes between live blocks, and free() returns none of that. Measured in the many-models rig under traffic:
/// the arenas held 38 MiB at the peak without a trim, 18 MiB with one. Left there, that memory also makes the next
/// load's footprint too small, as the load reuses it without growing the process. <c>malloc_trim(0)</c> returns every
/// free page of every arena (glibc 2.8 and later). Elsewhere (musl, macOS, Windows) <see cref="Trim"/> does nothing.
/// </summary>
internal static partial class NativeHeap
{
    // Probed once: glibc is the only C library with malloc_trim; gnu_get_libc_version exists only in glibc.
    private static readonly bool IsGlibc = Probe();

    /// <summary>True where <see cref="Trim"/> can give memory back (Linux with glibc).</summary>
    public static bool CanTrim => IsGlibc;

    /// <summary>
    /// Returns the native heap's free pages to the operating system. True when some memory was released; false when
    /// none was, or where the C library has no trim.
    /// </summary>
    public static bool Trim()
    {
        if (!IsGlibc)
        {
            return false;
        }
        try
        {
            return MallocTrim(0) != 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    private static bool Probe()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }
        try
        {
            return GnuGetLibcVersion() != 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libc.so.6", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    [LibraryImport("libc.so.6", EntryPoint = "gnu_get_libc_version")]
    private static partial nint GnuGetLibcVersion();
}
