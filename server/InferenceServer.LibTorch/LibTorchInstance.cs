using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Tensors;
using TorchSharp;
using static TorchSharp.torch;
using TorchTensor = TorchSharp.torch.Tensor;

namespace InferenceServer.LibTorch;

/// <summary>
/// One loaded TorchScript module. Its signature is the config's (TorchScript does not declare one); each run copies the
/// inputs into LibTorch tensors, calls forward() with them by position in inference mode, and copies the requested
/// results into pooled tensors. Every LibTorch tensor a run makes (inputs, results, contiguous copies) belongs to the
/// run's dispose scope and is freed when it ends, whatever happens.
/// </summary>
internal sealed class LibTorchInstance : IModelInstance
{
    public const string IntraOpThreadCount = "intra_op_thread_count";

    // LibTorch's intra-op thread count is set per calling thread (OpenMP's setting is per thread; LibTorch's own
    // count is process-wide), so a run sets it on the thread it runs on, once per thread and count. An instance whose
    // count is 0 (LibTorch's default) sets nothing, and so runs with what its thread was last given; the loader always
    // passes the server's division of the cores, so that happens only when a config asks for 0.
    [ThreadStatic]
    private static int t_threads;

    private readonly jit.ScriptModule _module;
    private readonly Device _device;
    private readonly int _threads;
    private readonly Dictionary<string, int> _inputIndex;
    private readonly Dictionary<string, int> _outputIndex;
    // By config index: the forward() argument position and result position of each tensor.
    private readonly int[] _inputPositions;
    private readonly int[] _outputPositions;
    private readonly ScalarType[] _inputScalars;
    // Per-run slots, indexed by forward() argument position; cleared after every run.
    private readonly object[] _arguments;
    private readonly Core.Tensors.Tensor?[] _given;
    private bool _disposed;

    private LibTorchInstance(jit.ScriptModule module, ModelSignature signature, Device device, int threads)
    {
        _module = module;
        _device = device;
        _threads = threads;
        Signature = signature;
        _inputPositions = TritonTensorOrder.Positions(signature.Inputs, "input");
        _outputPositions = TritonTensorOrder.Positions(signature.Outputs, "output");
        _inputIndex = new Dictionary<string, int>(signature.Inputs.Count, StringComparer.Ordinal);
        _inputScalars = new ScalarType[signature.Inputs.Count];
        for (var i = 0; i < signature.Inputs.Count; i++)
        {
            _inputIndex[signature.Inputs[i].Name] = i;
            _ = TorchElementTypes.TryToScalarType(signature.Inputs[i].DataType, out _inputScalars[i]);
        }
        _outputIndex = new Dictionary<string, int>(signature.Outputs.Count, StringComparer.Ordinal);
        for (var i = 0; i < signature.Outputs.Count; i++)
        {
            _outputIndex[signature.Outputs[i].Name] = i;
        }
        _arguments = new object[signature.Inputs.Count];
        _given = new Core.Tensors.Tensor?[signature.Inputs.Count];
    }

    public ModelSignature Signature { get; }

    /// <summary>
    /// The size of the model file: LibTorch holds the module's parameters (the weights, most of the file) in memory while
    /// the module lives. Left out: LibTorch's allocator caches and the interpreter's per-run working memory.
    /// </summary>
    public long MemoryBytes { get; private init; }

    public static LibTorchInstance Create(InstanceOptions options)
    {
        // The config is checked before the library is touched, so a config error reads as one.
        var signature = CheckDeclared(options.Declared);
        var threads = Threads(options.Parameters);
        var runtime = LibTorchRuntime.Shared;
        var device = Place(options, runtime);
        jit.ScriptModule module;
        try
        {
            module = jit.load(options.ModelPath, device.type, device.index);
        }
        catch (ExternalException e)
        {
            throw new BackendException($"LibTorch could not load '{options.ModelPath}' as TorchScript: {TorchErrors.Reason(e.Message)}", code: "INVALID_GRAPH", inner: e);
        }
        try
        {
            module.eval();
            var arguments = module.GetNumberOfInputs();
            if (arguments != signature.Inputs.Count)
            {
                throw new BackendException(
                    $"the model's forward() takes {arguments} tensor argument(s) but the config lists {signature.Inputs.Count} input(s): " +
                    string.Join(", ", signature.Inputs.Select(i => i.Name)) + "; list one input per argument, INPUT__0 for the first",
                    code: "INVALID_ARGUMENT");
            }
            return new LibTorchInstance(module, signature, device, threads) { MemoryBytes = new FileInfo(options.ModelPath).Length };
        }
        catch
        {
            module.Dispose();
            throw;
        }
    }

    public Core.Tensors.Tensor[] Run(IReadOnlyList<Core.Tensors.Tensor> inputs, IReadOnlyList<string> outputNames)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (t_threads != _threads && _threads > 0)
        {
            torch.set_num_threads(_threads);
            t_threads = _threads;
        }
        using var scope = torch.NewDisposeScope();
        using var inference = torch.inference_mode();
        try
        {
            for (var i = 0; i < inputs.Count; i++)
            {
                var tensor = inputs[i];
                if (!_inputIndex.TryGetValue(tensor.Name, out var index))
                {
                    throw new BackendException($"input '{tensor.Name}' is not an input of this model", InferenceErrorKind.InvalidArgument);
                }
                var position = _inputPositions[index];
                if (_given[position] is not null)
                {
                    throw new BackendException($"input '{tensor.Name}' is given more than once", InferenceErrorKind.InvalidArgument);
                }
                _given[position] = tensor;
                _arguments[position] = ToTorch(tensor, index);
            }
            for (var i = 0; i < _given.Length; i++)
            {
                if (_given[i] is null)
                {
                    throw new BackendException($"input '{Signature.Inputs[Array.IndexOf(_inputPositions, i)].Name}' is missing", InferenceErrorKind.InvalidArgument);
                }
            }

            object? returned;
            try
            {
                returned = _module.forward(_arguments);
            }
            catch (Exception e) when (e is NotImplementedException or ArgumentOutOfRangeException)
            {
                // TorchSharp converts forward()'s result to .NET values and fails on kinds it has no value for (a string, a dict).
                throw new BackendException(
                    "the model's forward() returned something other than tensors; the pytorch backend serves models whose forward() returns a tensor, " +
                    "or a tuple or list of tensors",
                    code: "RUNTIME_EXCEPTION", inner: e);
            }
            var results = Results(returned);
            return CopyOutputs(results, outputNames);
        }
        catch (ExternalException e)
        {
            throw new BackendException($"LibTorch failed to run the model: {TorchErrors.Reason(e.Message)}", code: "RUNTIME_EXCEPTION", inner: e);
        }
        finally
        {
            Array.Clear(_arguments);
            Array.Clear(_given);
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _module.Dispose();
    }

    private static ModelSignature CheckDeclared(ModelSignature declared)
    {
        if (declared.Inputs.Count == 0 || declared.Outputs.Count == 0)
        {
            var missing = declared.Inputs.Count == 0 ? "input" : "output";
            throw new BackendException(
                $"the config lists no {missing}s, and a TorchScript file does not declare its tensors, so they cannot be auto-completed; " +
                $"add an {missing} entry per forward() {(missing == "input" ? "argument" : "result")} with name, data_type and dims " +
                $"(e.g. {{ name: \"{missing.ToUpperInvariant()}__0\" data_type: TYPE_FP32 dims: [ 4 ] }})",
                code: "INVALID_ARGUMENT");
        }
        foreach (var (tensors, role) in new[] { (declared.Inputs, "input"), (declared.Outputs, "output") })
        {
            foreach (var tensor in tensors)
            {
                if (!TorchElementTypes.TryToScalarType(tensor.DataType, out _))
                {
                    throw TorchElementTypes.Unsupported(tensor.DataType, role, tensor.Name);
                }
            }
        }
        return declared;
    }

    private static int Threads(IReadOnlyDictionary<string, string> parameters)
    {
        if (!parameters.TryGetValue(IntraOpThreadCount, out var text))
        {
            return 0;
        }
        var most = Math.Max(64, Environment.ProcessorCount * 4);
        if (int.TryParse(text.AsSpan().Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count <= most)
        {
            return count;
        }
        throw new BackendException(
            $"parameter '{IntraOpThreadCount}' is '{text}'; expected a whole number from 0 (LibTorch's default) to {most}",
            code: "INVALID_ARGUMENT");
    }

    // KIND_GPU fails with the reason; KIND_AUTO takes GPU 0's place only in the gpu flavour with a GPU, else the CPU.
    private static Device Place(InstanceOptions options, LibTorchRuntime runtime)
    {
        if (options.Kind == InstanceKind.Cpu || (options.Kind == InstanceKind.Auto && runtime.GpuCount == 0))
        {
            return torch.CPU;
        }
        if (options.Kind == InstanceKind.Auto)
        {
            return torch.CUDA;
        }
        if (LibTorchRuntime.Flavor != LibTorchRuntime.GpuFlavor)
        {
            throw new BackendException(
                $"KIND_GPU requested (device {options.DeviceId}) but this server carries the CPU build of LibTorch (TorchSharp's CUDA package is not part of it). " +
                "Use KIND_CPU or KIND_AUTO, or build the server with -p:LibTorchFlavor=gpu where libtorch-cuda-12.8-linux-x64 can be restored.",
                code: "NOT_IMPLEMENTED");
        }
        if (options.DeviceId >= runtime.GpuCount)
        {
            throw new BackendException(
                $"KIND_GPU requested on device {options.DeviceId} but LibTorch sees {runtime.GpuCount} CUDA device(s)",
                code: "NOT_IMPLEMENTED");
        }
        return new Device(DeviceType.CUDA, options.DeviceId);
    }

    private TorchTensor ToTorch(Core.Tensors.Tensor tensor, int index)
    {
        var declared = Signature.Inputs[index].DataType;
        if (tensor.DataType != declared)
        {
            throw new BackendException(
                $"input '{tensor.Name}' is {tensor.DataType.ProtocolName()} but the model expects {declared.ProtocolName()}", InferenceErrorKind.InvalidArgument);
        }
        foreach (var dim in tensor.Shape)
        {
            if (dim < 0)
            {
                throw new BackendException($"input '{tensor.Name}' has unresolved shape {ShapeMath.Format(tensor.Shape)}", InferenceErrorKind.InvalidArgument);
            }
        }
        var expected = checked(ShapeMath.ElementCount(tensor.Shape) * declared.ElementSize());
        if (tensor.ByteLength != expected)
        {
            throw new BackendException(
                $"input '{tensor.Name}' holds {tensor.ByteLength} bytes but shape {ShapeMath.Format(tensor.Shape)} of {declared.ProtocolName()} needs {expected}",
                InferenceErrorKind.InvalidArgument);
        }
        var value = torch.empty(tensor.Shape, _inputScalars[index]);
        if (expected > 0)
        {
            value.bytes = tensor.Data;
        }
        return _device.type == DeviceType.CPU ? value : value.to(_device);
    }

    // forward() returns one tensor, a tuple of them (a value tuple of up to five, else an array) or a list of them.
    private static TorchTensor[] Results(object? returned) => returned switch
    {
        TorchTensor one => [one],
        TorchTensor[] many => many,
        ITuple tuple => Enumerable.Range(0, tuple.Length).Select(i => tuple[i] as TorchTensor ?? throw NotATensor(tuple[i], i)).ToArray(),
        object[] items => items.Select((item, i) => item as TorchTensor ?? throw NotATensor(item, i)).ToArray(),
        _ => throw NotATensor(returned, 0),
    };

    private static BackendException NotATensor(object? value, int position) => new(
        $"the model's forward() returned {(value is null ? "None" : value is Scalar ? "a number" : "a value that is not a tensor")} as result {position}; " +
        "the pytorch backend serves models whose forward() returns a tensor, or a tuple or list of tensors",
        code: "RUNTIME_EXCEPTION");

    private Core.Tensors.Tensor[] CopyOutputs(TorchTensor[] results, IReadOnlyList<string> outputNames)
    {
        var copies = new Core.Tensors.Tensor[outputNames.Count];
        var made = 0;
        try
        {
            for (; made < copies.Length; made++)
            {
                var name = outputNames[made];
                if (!_outputIndex.TryGetValue(name, out var index))
                {
                    throw new BackendException($"output '{name}' is not an output of this model", InferenceErrorKind.InvalidArgument);
                }
                var position = _outputPositions[index];
                if (position >= results.Length)
                {
                    throw new BackendException(
                        $"output '{name}' is result {position} of forward(), but the model returned {results.Length} result(s); correct the config's outputs",
                        code: "RUNTIME_EXCEPTION");
                }
                copies[made] = Copy(results[position], Signature.Outputs[index]);
            }
            return copies;
        }
        catch
        {
            for (var i = 0; i < made; i++)
            {
                copies[i].Dispose();
            }
            throw;
        }
    }

    private static Core.Tensors.Tensor Copy(TorchTensor result, TensorInfo declared)
    {
        _ = TorchElementTypes.TryToScalarType(declared.DataType, out var scalar);
        if (result.dtype != scalar)
        {
            throw new BackendException(
                $"the model returned {TorchElementTypes.Describe(result.dtype)} for output '{declared.Name}' but the config declares {declared.DataType.ConfigName()}; " +
                "correct the output's data_type",
                code: "RUNTIME_EXCEPTION");
        }
        var cpu = result.device_type == DeviceType.CPU ? result : result.cpu();
        var contiguous = cpu.is_contiguous() ? cpu : cpu.contiguous();
        var shape = contiguous.shape;
        var byteLength = checked(ShapeMath.ElementCount(shape) * declared.DataType.ElementSize());
        if (byteLength > Core.Tensors.Tensor.MaxByteLength)
        {
            throw new BackendException($"output '{declared.Name}' is {byteLength} bytes, more than one tensor can hold", code: "RUNTIME_EXCEPTION");
        }
        return byteLength == 0
            ? Core.Tensors.Tensor.Allocate(declared.Name, declared.DataType, shape, 0)
            : Core.Tensors.Tensor.Copy(declared.Name, declared.DataType, shape, contiguous.bytes);
    }
}
