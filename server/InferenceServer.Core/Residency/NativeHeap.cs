using System.Runtime.InteropServices;

namespace InferenceServer.Core.Residency;

/// <summary>
/// The C allocator's side of giving model memory back to the operating system, on glibc (Linux); elsewhere (musl, macOS,
/// Windows) every method here does nothing.
/// <list type="bullet">
/// <item><see cref="FixMmapThreshold"/>, at start: glibc's malloc raises its mmap threshold each time a block above it is
/// freed (up to 32 MiB on 64-bit), so after the first unload model-sized blocks (ONNX Runtime's copies of the weights,
/// its arenas) come from the heap instead of their own mappings, and freeing them leaves those pages resident: resident
/// memory would grow with every load/unload cycle. Fixing <c>M_MMAP_THRESHOLD</c> turns the adjustment off, so every
/// large block is mapped on its own and unmapped when freed.</item>
/// <item><see cref="Trim"/>, after a model's instances are released: the smaller blocks ONNX Runtime frees with a
/// session (its graph, kernels, per-thread buffers) stay in glibc's arenas as holes between live blocks, and free()
/// returns none of that. Measured in the many-models rig under traffic: the arenas held 38 MiB at the peak without a
/// trim, 18 MiB with one. Left there, that memory also makes the next load's footprint too small, as the load reuses it
/// without growing the process. <c>malloc_trim(0)</c> returns every free page of every arena (glibc 2.8 and later).</item>
/// </list>
/// </summary>
public static partial class NativeHeap
{
    // <malloc.h>: mallopt's parameter number for the mmap threshold.
    private const int MmapThresholdParameter = -3;

    /// <summary>The default threshold: glibc's own starting value, held fixed.</summary>
    public const int DefaultMmapThresholdBytes = 128 * 1024;

    // Probed once: gnu_get_libc_version exists only in glibc.
    private static readonly string? GlibcVersion = Probe();

    /// <summary>True where <see cref="Trim"/> can give memory back (Linux with glibc).</summary>
    public static bool CanTrim => GlibcVersion is not null;

    /// <summary>
    /// Fixes glibc's mmap threshold at <paramref name="thresholdBytes"/>; returns the glibc version when it did, null when
    /// this is not glibc or <paramref name="thresholdBytes"/> is 0 (leave glibc's dynamic threshold).
    /// </summary>
    public static string? FixMmapThreshold(int thresholdBytes)
    {
        if (thresholdBytes <= 0 || GlibcVersion is null)
        {
            return null;
        }
        return MallOpt(MmapThresholdParameter, thresholdBytes) == 1 ? GlibcVersion : null;
    }

    /// <summary>
    /// Returns the native heap's free pages to the operating system. True when some memory was released; false when
    /// none was, or where the C library has no trim.
    /// </summary>
    public static bool Trim() => GlibcVersion is not null && MallocTrim(0) != 0;

    private static string? Probe()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }
        try
        {
            return Marshal.PtrToStringUTF8(GnuGetLibcVersion());
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // musl or another C library: its allocator is not glibc's.
            return null;
        }
    }

    [LibraryImport("libc.so.6", EntryPoint = "mallopt")]
    private static partial int MallOpt(int parameter, int value);

    [LibraryImport("libc.so.6", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    [LibraryImport("libc.so.6", EntryPoint = "gnu_get_libc_version")]
    private static partial nint GnuGetLibcVersion();
}
