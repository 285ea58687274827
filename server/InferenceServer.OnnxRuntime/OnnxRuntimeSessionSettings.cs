using System.Globalization;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Inference;
using Microsoft.ML.OnnxRuntime;

namespace InferenceServer.OnnxRuntime;

/// <summary>
/// The session options a model config asks for, parsed and checked before any native object exists.
/// Parameter names and meanings follow Triton's ONNX Runtime backend so its configs carry over;
/// names this backend does not know are left alone (they may be meant for another part of the server).
/// </summary>
internal sealed record OnnxRuntimeSessionSettings
{
    public const string IntraOpThreadCount = "intra_op_thread_count";
    public const string InterOpThreadCount = "inter_op_thread_count";
    public const string ExecutionMode = "execution_mode";
    public const string EnableMemArena = "enable_mem_arena";
    public const string EnableMemPattern = "enable_mem_pattern";

    // ONNX Runtime's GraphOptimizationLevel values.
    public const int OptimizationBasic = 1;
    public const int OptimizationExtended = 2;
    public const int OptimizationAll = 99;

    /// <summary>
    /// The most threads a thread-count parameter may ask for. ONNX Runtime creates every thread asked for when the
    /// session is made, so a count such as 99999999 would tie the load up (and the machine's memory) instead of being
    /// refused; beyond a few threads per core more threads only contend, so the bound leaves room for any useful count,
    /// and at least 64 so a config written for a bigger machine still loads.
    /// </summary>
    public static readonly int MaxThreads = Math.Max(64, Environment.ProcessorCount * 4);

    /// <summary>Threads within one operator; null leaves ONNX Runtime's default, 0 too.</summary>
    public int? IntraOpThreads { get; init; }

    /// <summary>Threads across operators (parallel mode only).</summary>
    public int? InterOpThreads { get; init; }

    /// <summary>True for ORT_PARALLEL; null leaves the default (sequential).</summary>
    public bool? ParallelExecution { get; init; }

    public bool? MemArena { get; init; }

    public bool? MemPattern { get; init; }

    /// <summary>ONNX Runtime's GraphOptimizationLevel value to set.</summary>
    public int GraphOptimizationLevel { get; init; } = OptimizationAll;

    public static OnnxRuntimeSessionSettings From(InstanceOptions options)
    {
        var parameters = options.Parameters;
        return new OnnxRuntimeSessionSettings
        {
            IntraOpThreads = ThreadCount(parameters, IntraOpThreadCount),
            InterOpThreads = ThreadCount(parameters, InterOpThreadCount),
            ParallelExecution = Mode(parameters),
            MemArena = Flag(parameters, EnableMemArena),
            MemPattern = Flag(parameters, EnableMemPattern),
            GraphOptimizationLevel = MapGraphLevel(options.GraphOptimizationLevel),
        };
    }

    /// <summary>Triton's mapping of <c>optimization.graph.level</c>: -1 basic, 1 extended, anything else (0 included) all.</summary>
    public static int MapGraphLevel(int? level) => level switch
    {
        -1 => OptimizationBasic,
        1 => OptimizationExtended,
        _ => OptimizationAll,
    };

    /// <summary>Sets what the config asked for on <paramref name="options"/>; everything else keeps ONNX Runtime's defaults.</summary>
    public void ApplyTo(SessionOptions options)
    {
        if (IntraOpThreads is { } intra)
        {
            options.IntraOpNumThreads = intra;
        }
        if (InterOpThreads is { } inter)
        {
            options.InterOpNumThreads = inter;
        }
        if (ParallelExecution is { } parallel)
        {
            options.ExecutionMode = parallel ? Microsoft.ML.OnnxRuntime.ExecutionMode.ORT_PARALLEL : Microsoft.ML.OnnxRuntime.ExecutionMode.ORT_SEQUENTIAL;
        }
        if (MemArena is { } arena)
        {
            options.EnableCpuMemArena = arena;
        }
        if (MemPattern is { } pattern)
        {
            options.EnableMemoryPattern = pattern;
        }
        options.GraphOptimizationLevel = (Microsoft.ML.OnnxRuntime.GraphOptimizationLevel)GraphOptimizationLevel;
    }

    private static int? ThreadCount(IReadOnlyDictionary<string, string> parameters, string name)
    {
        if (!parameters.TryGetValue(name, out var text))
        {
            return null;
        }
        if (int.TryParse(text.AsSpan().Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count <= MaxThreads)
        {
            return count;
        }
        throw Invalid(name, text, string.Create(CultureInfo.InvariantCulture, $"a whole number of threads from 0 (ONNX Runtime chooses) to {MaxThreads} (4 per core of this machine, at least 64)"));
    }

    private static bool? Mode(IReadOnlyDictionary<string, string> parameters)
    {
        if (!parameters.TryGetValue(ExecutionMode, out var text))
        {
            return null;
        }
        return text.AsSpan().Trim() switch
        {
            "0" => false,
            "1" => true,
            _ => throw Invalid(ExecutionMode, text, "0 (sequential) or 1 (parallel)"),
        };
    }

    // Triton reads these as booleans: true/false, on/off, 1/0, in any case.
    private static bool? Flag(IReadOnlyDictionary<string, string> parameters, string name)
    {
        if (!parameters.TryGetValue(name, out var text))
        {
            return null;
        }
        var value = text.AsSpan().Trim();
        if (value.Equals("true", StringComparison.OrdinalIgnoreCase) || value.Equals("on", StringComparison.OrdinalIgnoreCase) || value.SequenceEqual("1"))
        {
            return true;
        }
        if (value.Equals("false", StringComparison.OrdinalIgnoreCase) || value.Equals("off", StringComparison.OrdinalIgnoreCase) || value.SequenceEqual("0"))
        {
            return false;
        }
        throw Invalid(name, text, "true or false (also on/off, 1/0)");
    }

    private static BackendException Invalid(string name, string value, string accepted) =>
        new($"model parameter '{name}' has value '{value}', which the onnxruntime backend does not accept; expected {accepted}.", InferenceErrorKind.InvalidArgument);
}
