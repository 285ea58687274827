using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Tensors;
#if LIBTORCH_BACKEND
using InferenceServer.LibTorch;
#endif
using InferenceServer.OnnxRuntime;
using DataType = InferenceServer.Core.Tensors.DataType;

namespace InferenceServer.Benchmarks.Raw;

/// <summary>
/// The <c>raw-throughput</c> mode: how many images per second one model instance gives when it is
/// called in a loop on one thread, with no server in front of it. The instance comes from
/// <see cref="OnnxRuntimeBackend"/> — the code the server runs, including its zero-copy input
/// binding and its outputs written into (or copied once into) pooled tensors — and gets the same
/// <see cref="InstanceOptions"/> the server's loader would build from the model's
/// <c>config.pbtxt</c>, so thread settings match unless overridden here. A version folder holding a TorchScript
/// <c>model.pt</c> instead runs on the server's LibTorchBackend, with the config's inputs and outputs as its signature.
/// Kept out of BenchmarkDotNet: one ResNet-50 batch takes seconds on a small machine, which its
/// short jobs do not fit.
/// </summary>
internal static class RawThroughput
{
    public const string Mode = "raw-throughput";

    /// <summary>The mode as a command of the benchmark program.</summary>
    public static Command Create()
    {
        var model = ModeOptions.Path("--model", "PATH",
            "A model folder (config.pbtxt + <version>/model.onnx or model.pt) or a model file inside one; the config's parameters, optimization level and tensors are passed as the server passes them.");
        var batches = ModeOptions.Sizes("--batch", [1, 8, 32], "Batch sizes, each measured in turn.");
        var seconds = ModeOptions.Seconds(20, "Measured time per batch size (at least 3 runs each).");
        var warmup = ModeOptions.Count("--warmup", 2, 1, "Untimed runs first.");
        var intraOp = ModeOptions.OptionalCount("--intra-op", 0, "intra_op_thread_count, over the config's.");
        var interOp = ModeOptions.OptionalCount("--inter-op", 0, "inter_op_thread_count, over the config's.");
        var command = new Command(Mode, "Images per second of one model instance called in a loop on one thread, with no server in front of it.")
        {
            model, batches, seconds, warmup, intraOp, interOp,
        };
        command.SetAction(result => Run(new Options(result.GetValue(model)!, result.GetValue(batches)!, result.GetValue(seconds), result.GetValue(warmup),
            result.GetValue(intraOp), result.GetValue(interOp))));
        return command;
    }

    private static int Run(Options options)
    {
        var instanceOptions = BuildInstanceOptions(options);
        Console.WriteLine($"model: {instanceOptions.ModelPath}");
        Console.WriteLine($"parameters: {Describe(instanceOptions.Parameters)}");
        Console.WriteLine($"intra_op_thread_count: {Setting(instanceOptions.Parameters, "intra_op_thread_count")}, " +
                          $"inter_op_thread_count: {Setting(instanceOptions.Parameters, "inter_op_thread_count")}; " +
                          $"{Environment.ProcessorCount} logical processors");

        // The environment first, so that the thread count below sees only what the session starts:
        // ONNX Runtime's intra-op workers (the thread calling Run works too, so N threads start N - 1).
        var torchScript = instanceOptions.ModelPath.EndsWith(".pt", StringComparison.Ordinal);
        if (!torchScript)
        {
            _ = OrtRuntime.Shared;
        }
        var threadsBefore = ThreadCount();
        using var instance = Backend(torchScript).CreateInstance(instanceOptions);
        Console.WriteLine($"threads started with the session: {ThreadCount() - threadsBefore}");

        var input = instance.Signature.Inputs[0];
        var outputNames = new string[instance.Signature.Outputs.Count];
        for (var i = 0; i < outputNames.Length; i++)
        {
            outputNames[i] = instance.Signature.Outputs[i].Name;
        }

        foreach (var batch in options.Batches)
        {
            using var tensor = MakeInput(input, batch);
            Tensor[] inputs = [tensor];
            for (var i = 0; i < options.WarmupRuns; i++)
            {
                Check(instance.Run(inputs, outputNames), batch);
            }

            var runs = 0;
            var started = Stopwatch.GetTimestamp();
            var limit = TimeSpan.FromSeconds(options.Seconds);
            TimeSpan elapsed;
            do
            {
                Release(instance.Run(inputs, outputNames));
                runs++;
                elapsed = Stopwatch.GetElapsedTime(started);
            }
            while (elapsed < limit || runs < 3);

            var imagesPerSecond = runs * (double)batch / elapsed.TotalSeconds;
            var msPerBatch = elapsed.TotalMilliseconds / runs;
            // One line per batch size in a fixed format; benchmarks/heavy-vs-raw.sh reads it.
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"RAW batch={batch} runs={runs} seconds={elapsed.TotalSeconds:F1} images_per_s={imagesPerSecond:F2} ms_per_batch={msPerBatch:F1}"));
        }
        return 0;
    }

    /// <summary>The input values heavy-vs-raw.sh sends too: element i is (i mod 251) / 125 − 1.</summary>
    internal static float InputValue(long index) => ((index % 251) / 125f) - 1f;

    private static InstanceOptions BuildInstanceOptions(Options options)
    {
        var path = Path.GetFullPath(options.ModelPath);
        string modelFile;
        string? configFile;
        if (Directory.Exists(path))
        {
            configFile = Path.Combine(path, "config.pbtxt");
            var versions = Directory.GetDirectories(path)
                .Where(d => long.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out _))
                .OrderBy(d => long.Parse(Path.GetFileName(d), CultureInfo.InvariantCulture))
                .ToArray();
            if (versions.Length == 0)
            {
                throw new FileNotFoundException($"no numbered version folder in {path}");
            }
            modelFile = Path.Combine(versions[^1], File.Exists(Path.Combine(versions[^1], "model.pt")) ? "model.pt" : "model.onnx");
        }
        else
        {
            modelFile = path;
            configFile = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(path)!)!, "config.pbtxt");
        }

        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        int? graphLevel = null;
        var declared = new ModelSignature([], []);
        if (File.Exists(configFile))
        {
            var config = ModelConfigReader.ReadFile(configFile).Config;
            parameters = config.StringParameters();
            graphLevel = config.Optimization?.Graph?.Level;
            declared = ConfigDeclaredSignature.From(config);
            Console.WriteLine($"config: {configFile}");
        }
        if (options.IntraOp is { } intra)
        {
            parameters["intra_op_thread_count"] = intra.ToString(CultureInfo.InvariantCulture);
        }
        if (options.InterOp is { } inter)
        {
            parameters["inter_op_thread_count"] = inter.ToString(CultureInfo.InvariantCulture);
        }
        return new InstanceOptions(modelFile, InstanceKind.Cpu, 0, parameters) { GraphOptimizationLevel = graphLevel, Declared = declared };
    }

    /// <summary>The backend raw runs use: LibTorch for a TorchScript file, ONNX Runtime otherwise.</summary>
    internal static IModelBackend Backend(bool torchScript) => torchScript
#if LIBTORCH_BACKEND
        ? new LibTorchBackend()
#else
        ? throw new NotSupportedException("this build leaves the TorchScript backend out (-p:LibTorchBackend=false)")
#endif
        : new OnnxRuntimeBackend();

    /// <summary>
    /// An FP32 input of <paramref name="info"/>'s shape at <paramref name="batch"/> rows, element i = <see cref="InputValue"/>(i):
    /// values in [-1, 1] that neither saturate a quantized range nor favour a variant.
    /// </summary>
    internal static Tensor MakeInput(TensorInfo info, int batch)
    {
        if (info.DataType != DataType.Fp32)
        {
            throw new NotSupportedException($"raw benchmarks feed FP32 inputs; '{info.Name}' is {info.DataType.ProtocolName()}");
        }
        var shape = (long[])info.Shape.Clone();
        for (var d = 0; d < shape.Length; d++)
        {
            if (shape[d] < 0)
            {
                if (d != 0)
                {
                    throw new NotSupportedException($"input '{info.Name}' has a dynamic dimension other than the batch: {ShapeMath.Format(info.Shape)}");
                }
                shape[d] = batch;
            }
        }
        var count = ShapeMath.ElementCount(shape);
        var tensor = Tensor.Allocate(info.Name, DataType.Fp32, shape, checked((int)count * sizeof(float)));
        var values = MemoryMarshal.Cast<byte, float>(tensor.Data);
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = InputValue(i);
        }
        return tensor;
    }

    // The warm-up runs also check that the model gives finite probabilities, one row per image.
    private static void Check(Tensor[] outputs, int batch)
    {
        try
        {
            var output = outputs[0];
            if (output.DataType != DataType.Fp32 || output.Shape.Length != 2 || output.Shape[0] != batch)
            {
                throw new InvalidOperationException($"unexpected output {output.Name} {output.DataType.ProtocolName()} {ShapeMath.Format(output.Shape)}");
            }
            var values = MemoryMarshal.Cast<byte, float>(output.Data);
            var width = (int)output.Shape[1];
            for (var row = 0; row < batch; row++)
            {
                var sum = 0.0;
                foreach (var value in values.Slice(row * width, width))
                {
                    if (!float.IsFinite(value))
                    {
                        throw new InvalidOperationException($"output row {row} holds {value}");
                    }
                    sum += value;
                }
                // A classifier's row is a softmax over its classes; a one-column output (income) is a probability.
                if (width > 1 ? Math.Abs(sum - 1) > 1e-3 : sum is < 0 or > 1)
                {
                    throw new InvalidOperationException(width > 1 ? $"output row {row} sums to {sum}, not 1" : $"output row {row} is {sum}, not a probability");
                }
            }
        }
        finally
        {
            Release(outputs);
        }
    }

    private static void Release(Tensor[] outputs)
    {
        foreach (var output in outputs)
        {
            output.Dispose();
        }
    }

    private static int ThreadCount() =>
        Directory.Exists("/proc/self/task") ? Directory.GetDirectories("/proc/self/task").Length : Process.GetCurrentProcess().Threads.Count;

    private static string Setting(IReadOnlyDictionary<string, string> parameters, string name) =>
        parameters.TryGetValue(name, out var value) ? value : "not set (ONNX Runtime's default)";

    private static string Describe(IReadOnlyDictionary<string, string> parameters) =>
        parameters.Count == 0 ? "none" : string.Join(", ", parameters.Select(p => $"{p.Key}={p.Value}"));

    private sealed record Options(string ModelPath, int[] Batches, double Seconds, int WarmupRuns, int? IntraOp, int? InterOp);
}
