using System.Reflection;
using System.Runtime.InteropServices;
using InferenceServer.Core.Backends;

namespace InferenceServer.OnnxRuntime.Interop;

/// <summary>
/// The process-wide ONNX Runtime state: the loaded library, its API table, the one <c>OrtEnv</c>,
/// the CPU memory description and the default allocator. Created on first use; a failure (library
/// missing, unsupported version) is remembered and rethrown to every later caller.
/// </summary>
/// <remarks>
/// The env, memory info and library stay for the life of the process on purpose: ONNX Runtime
/// requires the env to outlive every session, and sessions may be released by finalizers in any
/// order, so there is no safe earlier moment to release them.
/// </remarks>
internal sealed unsafe class OrtRuntime
{
    /// <summary>
    /// The C API version requested. The server ships ORT 1.30 and the GPU build uses 1.29; both serve
    /// any version up to their own, and every slot used here exists from version 15 on.
    /// </summary>
    public const uint ApiVersion = 23;

    public const string LibraryFileName = "libonnxruntime.so.1";

    private const int LoggingLevelWarning = 2;
    private const int ArenaAllocator = 1;
    private const int MemTypeDefault = 0;

    private static readonly Lazy<OrtRuntime> Instance = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    private OrtRuntime(OrtApi api, string version, nint env, nint cpuMemoryInfo, nint defaultAllocator, string[] providers)
    {
        Api = api;
        Version = version;
        Env = env;
        CpuMemoryInfo = cpuMemoryInfo;
        DefaultAllocator = defaultAllocator;
        AvailableProviders = providers;
    }

    public static OrtRuntime Shared => Instance.Value;

    public OrtApi Api { get; }

    /// <summary>The library's own version string, e.g. <c>1.30.0</c>.</summary>
    public string Version { get; }

    public nint Env { get; }

    /// <summary>Describes ordinary CPU memory, for tensors over our own buffers.</summary>
    public nint CpuMemoryInfo { get; }

    /// <summary>ONNX Runtime's default CPU allocator; owned by the library, never freed.</summary>
    public nint DefaultAllocator { get; }

    /// <summary>The execution providers this library was built with, e.g. <c>CPUExecutionProvider</c>.</summary>
    public IReadOnlyList<string> AvailableProviders { get; }

    private static OrtRuntime Load()
    {
        var library = LoadLibrary();
        if (!NativeLibrary.TryGetExport(library, "OrtGetApiBase", out var getApiBaseExport))
        {
            throw new BackendException("the loaded libonnxruntime has no OrtGetApiBase export; it is not an ONNX Runtime library", "FAIL");
        }
        var getApiBase = (delegate* unmanaged[Cdecl]<nint>)getApiBaseExport;
        var apiBase = (nint*)getApiBase();
        var getApi = (delegate* unmanaged[Cdecl]<uint, nint>)apiBase[0];
        var getVersionString = (delegate* unmanaged[Cdecl]<byte*>)apiBase[1];
        var version = Utf8String.Read(getVersionString());

        var table = getApi(ApiVersion);
        if (table == 0)
        {
            throw new BackendException(
                $"ONNX Runtime {version} does not support C API version {ApiVersion}; this server needs ONNX Runtime 1.{ApiVersion} or later.",
                "NOT_IMPLEMENTED");
        }
        var api = new OrtApi(table);
        Probe(api, version);

        nint env;
        fixed (byte* logId = "inference-server\0"u8)
        {
            api.Check(api.CreateEnv(LoggingLevelWarning, logId, &env), "ONNX Runtime could not create its environment");
        }
        nint memoryInfo;
        api.Check(api.CreateCpuMemoryInfo(ArenaAllocator, MemTypeDefault, &memoryInfo), "ONNX Runtime could not describe CPU memory");
        nint allocator;
        api.Check(api.GetAllocatorWithDefaultOptions(&allocator), "ONNX Runtime has no default allocator");
        return new OrtRuntime(api, version, env, memoryInfo, allocator, ReadProviders(api));
    }

    // Catches a library whose table does not match our slot numbers before anything else is called:
    // a status made through slot 0 must read back through slots 1 and 2 and release through slot 93.
    private static void Probe(OrtApi api, string version)
    {
        nint status;
        fixed (byte* text = "probe\0"u8)
        {
            status = api.CreateStatus(OrtErrorCodes.InvalidArgument, text);
        }
        var ok = status != 0
            && api.GetErrorCode(status) == OrtErrorCodes.InvalidArgument
            && Utf8String.Read(api.GetErrorMessage(status)) == "probe";
        api.ReleaseStatus(status);
        if (!ok)
        {
            throw new BackendException($"ONNX Runtime {version} answered the API probe wrongly; its C API table does not match this server's binding.");
        }
    }

    private static string[] ReadProviders(OrtApi api)
    {
        byte** names;
        int count;
        api.Check(api.GetAvailableProviders(&names, &count), "ONNX Runtime could not list its execution providers");
        try
        {
            var providers = new string[count];
            for (var i = 0; i < count; i++)
            {
                providers[i] = Utf8String.Read(names[i]);
            }
            return providers;
        }
        finally
        {
            api.Check(api.ReleaseAvailableProviders(names, count), "ONNX Runtime could not release its provider list");
        }
    }

    private static nint LoadLibrary()
    {
        // Next to the application first (the build copies it there), then the build's cache.
        var candidates = new List<string> { Path.Combine(AppContext.BaseDirectory, LibraryFileName) };
        var built = typeof(OrtRuntime).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>();
        foreach (var attribute in built)
        {
            if (attribute.Key == "OnnxRuntimeNativeLibrary" && !string.IsNullOrEmpty(attribute.Value))
            {
                candidates.Add(attribute.Value);
            }
        }

        var failures = new List<string>();
        foreach (var path in candidates)
        {
            if (!File.Exists(path))
            {
                failures.Add($"{path} (not found)");
                continue;
            }
            try
            {
                return NativeLibrary.Load(path);
            }
            catch (DllNotFoundException e)
            {
                failures.Add($"{path} ({e.Message})");
            }
            catch (BadImageFormatException e)
            {
                failures.Add($"{path} ({e.Message})");
            }
        }
        throw new BackendException(
            $"ONNX Runtime's native library could not be loaded; tried {string.Join("; ", failures)}. " +
            "Building InferenceServer.OnnxRuntime installs it (it needs npm once).",
            "NO_SUCHFILE");
    }
}
