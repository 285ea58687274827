using System.Reflection;
using InferenceServer.Core.Backends;
using TorchSharp;

namespace InferenceServer.LibTorch;

/// <summary>
/// The process-wide LibTorch: its native libraries (loaded by TorchSharp on first use), its version, which package
/// flavour this build carries and the GPUs it sees. A failure to load is remembered and rethrown, with its reason, to
/// every later caller.
/// </summary>
internal sealed class LibTorchRuntime
{
    public const string CpuFlavor = "cpu";
    public const string GpuFlavor = "gpu";

    private static readonly Lazy<LibTorchRuntime> Instance = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    private LibTorchRuntime(string version, int gpus)
    {
        Version = version;
        GpuCount = gpus;
    }

    /// <summary>The package flavour this assembly was built against: <c>cpu</c> or <c>gpu</c> (MSBuild property LibTorchFlavor).</summary>
    public static string Flavor { get; } = ReadMetadata("LibTorchFlavor") ?? CpuFlavor;

    /// <summary>The LibTorch package version this assembly was built against, e.g. <c>2.10.0</c>; known without loading LibTorch.</summary>
    public static string PackageVersion { get; } = ReadMetadata("LibTorchVersion") ?? "unknown";

    /// <summary>Whether LibTorch has been loaded (by the first TorchScript model, or a KIND_GPU group asking for devices).</summary>
    public static bool IsLoaded => Instance.IsValueCreated;

    /// <summary>The loaded runtime; throws <see cref="BackendException"/> when the native libraries cannot be loaded.</summary>
    public static LibTorchRuntime Shared => Instance.Value;

    /// <summary>LibTorch's version, e.g. <c>2.10.0</c>.</summary>
    public string Version { get; }

    /// <summary>The CUDA devices LibTorch sees; 0 in the cpu flavour.</summary>
    public int GpuCount { get; }

    private static LibTorchRuntime Load()
    {
        try
        {
            var gpu = Flavor == GpuFlavor && torch.TryInitializeDeviceType(DeviceType.CUDA);
            if (!gpu)
            {
                torch.InitializeDeviceType(DeviceType.CPU);
            }
            return new LibTorchRuntime(ShortVersion(torch.__version__), gpu ? torch.cuda.device_count() : 0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException or TypeInitializationException
            or NotSupportedException or InvalidOperationException)
        {
            var reason = (e as TypeInitializationException)?.InnerException?.Message ?? e.Message;
            throw new BackendException(
                $"LibTorch's native libraries could not be loaded ({TorchErrors.Reason(reason)}). The {Flavor} build ships them for linux-x64 only; " +
                "on another platform, build the server there with that platform's libtorch package.",
                code: "NO_SUCHFILE",
                inner: e);
        }
    }

    // TorchSharp reports its LibTorch package's version with four parts (2.10.0.0); LibTorch itself says 2.10.0.
    private static string ShortVersion(string version) =>
        System.Version.TryParse(version, out var parsed) && parsed.Build >= 0 ? $"{parsed.Major}.{parsed.Minor}.{parsed.Build}" : version;

    private static string? ReadMetadata(string key)
    {
        foreach (var attribute in typeof(LibTorchRuntime).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>())
        {
            if (attribute.Key == key && !string.IsNullOrEmpty(attribute.Value))
            {
                return attribute.Value;
            }
        }
        return null;
    }
}
