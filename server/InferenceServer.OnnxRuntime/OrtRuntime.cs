using System.Reflection;
using InferenceServer.Core.Backends;
using Microsoft.ML.OnnxRuntime;

namespace InferenceServer.OnnxRuntime;

/// <summary>
/// The process-wide ONNX Runtime: its one environment (created on first use by the managed API),
/// its version, its execution providers and which package flavour this build carries. A failure to
/// load the native library is remembered and rethrown, with its reason, to every later caller.
/// </summary>
internal sealed class OrtRuntime
{
    public const string CpuFlavor = "cpu";
    public const string GpuFlavor = "gpu";

    private static readonly Lazy<OrtRuntime> Instance = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    private OrtRuntime(OrtEnv env, string version, string[] providers)
    {
        Env = env;
        Version = version;
        Providers = providers;
    }

    /// <summary>The package flavour this assembly was built against: <c>cpu</c> or <c>gpu</c> (MSBuild property OrtFlavor).</summary>
    public static string Flavor { get; } = ReadFlavor();

    /// <summary>The loaded runtime; throws <see cref="BackendException"/> when the native library cannot be loaded.</summary>
    public static OrtRuntime Shared => Instance.Value;

    public OrtEnv Env { get; }

    /// <summary>The native library's own version string, e.g. <c>1.32.0</c>.</summary>
    public string Version { get; }

    /// <summary>The execution providers the native library was built with, e.g. <c>CPUExecutionProvider</c>.</summary>
    public IReadOnlyList<string> Providers { get; }

    public bool HasProvider(string name) => Array.IndexOf((string[])Providers, name) >= 0;

    private static OrtRuntime Load()
    {
        try
        {
            var env = OrtEnv.Instance();
            return new OrtRuntime(env, env.GetVersionString(), env.GetAvailableProviders());
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException or TypeInitializationException)
        {
            var reason = (e as TypeInitializationException)?.InnerException?.Message ?? e.Message;
            throw new BackendException(
                $"ONNX Runtime's native library could not be loaded ({reason}). The {Flavor} build ships it for " +
                (Flavor == GpuFlavor ? "linux-x64 only" : "linux-x64, linux-arm64, osx-arm64, win-x64 and win-arm64") +
                "; on another platform, build the server there or put an onnxruntime library for it beside the server.",
                code: "NO_SUCHFILE",
                inner: e);
        }
        catch (OnnxRuntimeException e)
        {
            throw OrtErrors.Translate(e, "ONNX Runtime could not start");
        }
    }

    private static string ReadFlavor()
    {
        foreach (var attribute in typeof(OrtRuntime).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>())
        {
            if (attribute.Key == "OnnxRuntimeFlavor" && !string.IsNullOrEmpty(attribute.Value))
            {
                return attribute.Value;
            }
        }
        return CpuFlavor;
    }
}
