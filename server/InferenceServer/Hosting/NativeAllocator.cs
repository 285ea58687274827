using System.Runtime.InteropServices;

namespace InferenceServer.Hosting;

/// <summary>
/// Makes the C allocator give model memory back to the OS when a model is unloaded. glibc's malloc
/// raises its mmap threshold each time a block above it is freed (up to 32 MiB on 64-bit), so after
/// the first unload, model-sized blocks (ONNX Runtime's copies of the weights, its arenas) come
/// from the heap instead of their own mappings, and freeing them leaves those pages resident:
/// resident memory then grows with every load/unload cycle. Setting <c>M_MMAP_THRESHOLD</c> fixes the
/// threshold (and turns the adjustment off), so every large block is mapped on its own and unmapped
/// when freed. Only on glibc; elsewhere nothing changes.
/// </summary>
internal static partial class NativeAllocator
{
    // <malloc.h>: mallopt's parameter number for the mmap threshold.
    private const int MmapThresholdParameter = -3;

    /// <summary>The default threshold: glibc's own starting value, held fixed.</summary>
    public const int DefaultMmapThresholdBytes = 128 * 1024;

    /// <summary>
    /// Fixes glibc's mmap threshold at <paramref name="thresholdBytes"/>; returns the glibc version
    /// when it did, null when this is not glibc or <paramref name="thresholdBytes"/> is 0 (leave glibc's dynamic threshold).
    /// </summary>
    public static string? FixMmapThreshold(int thresholdBytes)
    {
        if (thresholdBytes <= 0 || !OperatingSystem.IsLinux())
        {
            return null;
        }
        try
        {
            var version = Marshal.PtrToStringUTF8(GnuGetLibcVersion());
            return MallOpt(MmapThresholdParameter, thresholdBytes) == 1 ? version : null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // musl or another C library: its allocator is not glibc's.
            return null;
        }
    }

    [LibraryImport("libc.so.6", EntryPoint = "mallopt")]
    private static partial int MallOpt(int parameter, int value);

    [LibraryImport("libc.so.6", EntryPoint = "gnu_get_libc_version")]
    private static partial nint GnuGetLibcVersion();
}
