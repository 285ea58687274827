using System.Runtime.InteropServices;

namespace InferenceServer.Hosting;

/// <summary>
/// The few NVML calls the server needs (NVIDIA Management Library, shipped with the driver as <c>libnvidia-ml.so.1</c>):
/// start and stop, count the devices, name them, read their memory and utilization. Every call returns an
/// <c>nvmlReturn_t</c>, 0 on success. The <c>_v2</c> entry points are the ones current drivers export.
/// </summary>
internal static unsafe partial class Nvml
{
    /// <summary>The library's soname: the driver installs it, and no NVIDIA package is needed to build against it.</summary>
    public const string Library = "libnvidia-ml.so.1";

    /// <summary><c>NVML_SUCCESS</c>.</summary>
    public const int Success = 0;

    /// <summary><c>NVML_DEVICE_NAME_V2_BUFFER_SIZE</c>, which also holds a UUID (<c>NVML_DEVICE_UUID_V2_BUFFER_SIZE</c>).</summary>
    public const int StringBufferSize = 96;

    /// <summary><c>nvmlMemory_t</c>: the device's memory in bytes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Memory
    {
        public ulong Total;
        public ulong Free;
        public ulong Used;
    }

    /// <summary><c>nvmlUtilization_t</c>: percent of the last sample period the device (and its memory) was busy.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Utilization
    {
        public uint Gpu;
        public uint Memory;
    }

    [LibraryImport(Library, EntryPoint = "nvmlInit_v2")]
    public static partial int Init();

    [LibraryImport(Library, EntryPoint = "nvmlShutdown")]
    public static partial int Shutdown();

    [LibraryImport(Library, EntryPoint = "nvmlDeviceGetCount_v2")]
    public static partial int DeviceGetCount(out uint count);

    [LibraryImport(Library, EntryPoint = "nvmlDeviceGetHandleByIndex_v2")]
    public static partial int DeviceGetHandleByIndex(uint index, out nint device);

    [LibraryImport(Library, EntryPoint = "nvmlDeviceGetName")]
    public static partial int DeviceGetName(nint device, byte* name, uint length);

    [LibraryImport(Library, EntryPoint = "nvmlDeviceGetUUID")]
    public static partial int DeviceGetUuid(nint device, byte* uuid, uint length);

    [LibraryImport(Library, EntryPoint = "nvmlDeviceGetMemoryInfo")]
    public static partial int DeviceGetMemoryInfo(nint device, out Memory memory);

    [LibraryImport(Library, EntryPoint = "nvmlDeviceGetUtilizationRates")]
    public static partial int DeviceGetUtilizationRates(nint device, out Utilization utilization);

    [LibraryImport(Library, EntryPoint = "nvmlErrorString")]
    private static partial nint ErrorString(int result);

    /// <summary>NVML's own words for <paramref name="result"/> (e.g. "Driver Not Loaded"), with its number.</summary>
    public static string Describe(int result)
    {
        string? text = null;
        try
        {
            text = Marshal.PtrToStringUTF8(ErrorString(result));
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Only reached when the library went away between calls; the number still says what happened.
        }
        return string.IsNullOrEmpty(text) ? $"NVML error {result}" : $"{text} (NVML error {result})";
    }

    /// <summary>The device's product name (e.g. "NVIDIA H200"); null when it cannot be read.</summary>
    public static string? ReadName(nint device)
    {
        var buffer = stackalloc byte[StringBufferSize];
        return DeviceGetName(device, buffer, StringBufferSize) == Success ? Marshal.PtrToStringUTF8((nint)buffer) : null;
    }

    /// <summary>The device's UUID as NVML writes it ("GPU-" and 32 hex digits); null when it cannot be read.</summary>
    public static string? ReadUuid(nint device)
    {
        var buffer = stackalloc byte[StringBufferSize];
        return DeviceGetUuid(device, buffer, StringBufferSize) == Success ? Marshal.PtrToStringUTF8((nint)buffer) : null;
    }
}
