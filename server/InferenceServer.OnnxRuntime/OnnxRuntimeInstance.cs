using System.Buffers;
using System.Buffers.Binary;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Tensors;
using Microsoft.ML.OnnxRuntime;

namespace InferenceServer.OnnxRuntime;

/// <summary>
/// One ONNX Runtime session. Inputs of fixed-size types are handed to ONNX Runtime as
/// <see cref="OrtValue"/>s over their tensors' pinned, 64-byte aligned pooled buffers, without a
/// copy. Outputs whose shapes follow from the inputs (static dimensions, or symbolic ones the model
/// also gives an input) are pre-allocated as pooled tensors that ONNX Runtime writes into; any other
/// output is allocated by ONNX Runtime and copied once into a pooled tensor. Both go through one
/// <see cref="OrtIoBinding"/> per instance. Measured on <c>income</c> (ONNX Runtime 1.32, one thread):
/// pre-allocated outputs cost 10-20 % less CPU per run than copying ORT's outputs, and the binding
/// allocates 224 bytes per run where <c>Run</c> with pre-allocated outputs allocates 368 at the same speed.
/// The binding, name tables and value slots are made when the instance is created, which is safe
/// because an instance runs on one thread at a time.
/// </summary>
internal sealed class OnnxRuntimeInstance : IModelInstance
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    // One binding for the instance's life, bound and cleared per run: it names inputs and outputs
    // with fewer per-run allocations than Run's name and handle arrays, and takes pre-allocated outputs.
    private readonly OrtIoBinding _binding;
    private readonly string _modelPath;
    private readonly string[] _inputNames;
    private readonly Dictionary<string, int> _inputIndex;
    private readonly Dictionary<string, int> _outputIndex;
    private readonly DataType[] _inputTypes;
    private readonly OutputShapePlan?[] _outputPlans;
    // Per-run slots, indexed like the model's inputs; cleared after every run.
    private readonly OrtValue?[] _inputValues;
    private readonly Tensor?[] _inputTensors;
    private readonly MemoryHandle[] _pins;
    // The same for pre-allocated outputs, indexed like the request's outputs.
    private readonly OrtValue[] _outputValues;
    private readonly MemoryHandle[] _outputPins;
    private bool _predictOutputs = true;
    private bool _disposed;

    private OnnxRuntimeInstance(InferenceSession session, ModelSignature signature, OutputShapePlan?[] outputPlans, string modelPath)
    {
        _session = session;
        _binding = session.CreateIoBinding();
        _modelPath = modelPath;
        Signature = signature;
        _outputPlans = outputPlans;

        var inputCount = signature.Inputs.Count;
        _inputNames = new string[inputCount];
        _inputTypes = new DataType[inputCount];
        _inputIndex = new Dictionary<string, int>(inputCount, StringComparer.Ordinal);
        for (var i = 0; i < inputCount; i++)
        {
            _inputNames[i] = signature.Inputs[i].Name;
            _inputTypes[i] = signature.Inputs[i].DataType;
            _inputIndex[_inputNames[i]] = i;
        }
        _outputIndex = new Dictionary<string, int>(signature.Outputs.Count, StringComparer.Ordinal);
        for (var i = 0; i < signature.Outputs.Count; i++)
        {
            _outputIndex[signature.Outputs[i].Name] = i;
        }
        _inputValues = new OrtValue?[inputCount];
        _inputTensors = new Tensor?[inputCount];
        _pins = new MemoryHandle[inputCount];
        _outputValues = new OrtValue[signature.Outputs.Count];
        _outputPins = new MemoryHandle[signature.Outputs.Count];
    }

    public ModelSignature Signature { get; }

    /// <summary>
    /// The size of the model file. ONNX Runtime copies the file's initializers (the weights) into memory the session owns
    /// (device memory for a GPU instance) and keeps them while it lives, so this is what one more instance costs at the
    /// least. Left out, because ONNX Runtime does not report them per session: the arena that grows with the batch sizes
    /// run, pre-packed copies of weights, and weights kept in external data files beside the model file.
    /// </summary>
    public long MemoryBytes { get; private init; }

    /// <summary>Where this instance runs, e.g. <c>CPUExecutionProvider</c> or <c>CUDAExecutionProvider (device 0)</c>.</summary>
    public string Placement { get; private init; } = OrtExecutionProviders.CpuProvider;

    /// <summary>False once the model has produced an output of another shape than its declarations promise.</summary>
    public bool PredictsOutputShapes => _predictOutputs;

    public static OnnxRuntimeInstance Create(InstanceOptions options)
    {
        // Parameters are checked before the library is touched, so a config error reads as one.
        var settings = OnnxRuntimeSessionSettings.From(options);
        OrtExecutionProviders.CheckAccelerators(options);
        var runtime = OrtRuntime.Shared;
        var gpu = OrtExecutionProviders.WantsGpu(options, runtime);
        InferenceSession session;
        string placement;
        try
        {
            (session, placement) = gpu
                ? OpenOnGpu(options, settings, runtime)
                : (Open(options, settings, null), OrtExecutionProviders.CpuProvider);
        }
        catch (KeyNotFoundException e)
        {
            throw OrtErrors.Unnamed(e, "ONNX Runtime could not load the model file");
        }

        try
        {
            var (signature, plans) = ReadSignature(session);
            return new OnnxRuntimeInstance(session, signature, plans, options.ModelPath) { Placement = placement, MemoryBytes = new FileInfo(options.ModelPath).Length };
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    public Tensor[] Run(IReadOnlyList<Tensor> inputs, IReadOnlyList<string> outputNames)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var inputCount = inputs.Count;
        var outputCount = outputNames.Count;
        var signatureInputs = _inputTypes.Length;
        var signatureOutputs = _outputPlans.Length;
        if (outputCount > signatureOutputs)
        {
            throw new BackendException($"{outputCount} outputs requested but the model has {signatureOutputs}", InferenceErrorKind.InvalidArgument);
        }

        Span<bool> requested = signatureOutputs <= 256 ? stackalloc bool[signatureOutputs] : new bool[signatureOutputs];
        try
        {
            for (var i = 0; i < inputCount; i++)
            {
                var tensor = inputs[i];
                if (!_inputIndex.TryGetValue(tensor.Name, out var index))
                {
                    throw new BackendException($"input '{tensor.Name}' is not an input of this model", InferenceErrorKind.InvalidArgument);
                }
                if (_inputTensors[index] is not null)
                {
                    throw new BackendException($"input '{tensor.Name}' is given more than once", InferenceErrorKind.InvalidArgument);
                }
                _inputTensors[index] = tensor;
                if (tensor.DataType != _inputTypes[index])
                {
                    throw new BackendException(
                        $"input '{tensor.Name}' is {tensor.DataType.ProtocolName()} but the model expects {_inputTypes[index].ProtocolName()}",
                        InferenceErrorKind.InvalidArgument);
                }
                _inputValues[index] = tensor.DataType == DataType.Bytes ? CreateStringValue(tensor) : CreatePinnedValue(tensor, ref _pins[index]);
            }
            for (var i = 0; i < signatureInputs; i++)
            {
                if (_inputTensors[i] is null)
                {
                    throw new BackendException($"input '{_inputNames[i]}' is missing", InferenceErrorKind.InvalidArgument);
                }
            }
            for (var i = 0; i < outputCount; i++)
            {
                if (!_outputIndex.TryGetValue(outputNames[i], out var index))
                {
                    throw new BackendException($"output '{outputNames[i]}' is not an output of this model", InferenceErrorKind.InvalidArgument);
                }
                if (requested[index])
                {
                    throw new BackendException($"output '{outputNames[i]}' is requested more than once", InferenceErrorKind.InvalidArgument);
                }
                requested[index] = true;
            }

            for (var i = 0; i < signatureInputs; i++)
            {
                _binding.BindInput(_inputNames[i], _inputValues[i]!);
            }
            if (_predictOutputs && CanPredictShapes(outputNames))
            {
                try
                {
                    return RunIntoTensors(outputNames);
                }
                catch (OnnxRuntimeException)
                {
                    _binding.ClearBoundOutputs();
                    // The model computed a shape other than its declared dimensions promise (ONNX Runtime
                    // refuses a pre-allocated output of another shape). Run again letting ONNX Runtime
                    // allocate; if that works, this model's declarations are not to be trusted.
                    var results = RunAndCopy(outputNames);
                    _predictOutputs = false;
                    return results;
                }
            }
            return RunAndCopy(outputNames);
        }
        catch (OnnxRuntimeException e)
        {
            throw OrtErrors.Translate(e, "ONNX Runtime failed to run the model", _modelPath);
        }
        catch (KeyNotFoundException e)
        {
            throw OrtErrors.Unnamed(e, "ONNX Runtime failed to run the model");
        }
        finally
        {
            _binding.ClearBoundInputs();
            _binding.ClearBoundOutputs();
            for (var i = 0; i < signatureInputs; i++)
            {
                _inputValues[i]?.Dispose();
                _inputValues[i] = null;
                _inputTensors[i] = null;
                _pins[i].Dispose();
                _pins[i] = default;
            }
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _binding.Dispose();
        _session.Dispose();
        _runOptions.Dispose();
    }

    private static InferenceSession Open(InstanceOptions options, OnnxRuntimeSessionSettings settings, Action<SessionOptions>? providers)
    {
        using var sessionOptions = new SessionOptions();
        try
        {
            settings.ApplyTo(sessionOptions);
            providers?.Invoke(sessionOptions);
        }
        catch (OnnxRuntimeException e)
        {
            throw OrtErrors.Translate(e, "ONNX Runtime could not set up the session's execution providers", options.ModelPath);
        }
        try
        {
            return new InferenceSession(options.ModelPath, sessionOptions);
        }
        catch (OnnxRuntimeException e)
        {
            // The managed API cannot describe some element types and fails the session without naming the tensor.
            if (OnnxGraphTypes.FindUnsupported(options.ModelPath, type => OrtElementTypes.TryToDataType(type, out _)) is { } unsupported)
            {
                throw OrtElementTypes.Unsupported(unsupported.ElementType, unsupported.Role, unsupported.Name);
            }
            throw OrtErrors.Translate(e, "ONNX Runtime could not load the model file", options.ModelPath);
        }
    }

    // KIND_GPU fails with the reason; KIND_AUTO falls back to the CPU when the GPU cannot be used.
    private static (InferenceSession Session, string Placement) OpenOnGpu(InstanceOptions options, OnnxRuntimeSessionSettings settings, OrtRuntime runtime)
    {
        if (options.Kind == InstanceKind.Gpu && OrtExecutionProviders.GpuUnavailableReason(runtime) is { } reason)
        {
            throw new BackendException(
                $"KIND_GPU requested (device {options.DeviceId}) but {reason}. Use KIND_CPU or KIND_AUTO, or run the GPU build of the server.",
                code: "NOT_IMPLEMENTED");
        }
        var tensorRt = OrtExecutionProviders.TensorRtOptions(options);
        try
        {
            var session = Open(options, settings, sessionOptions => OrtExecutionProviders.AttachGpu(sessionOptions, options.DeviceId, tensorRt));
            return (session, OrtExecutionProviders.DescribeGpu(options.DeviceId, tensorRt));
        }
        catch (BackendException e) when (options.Kind == InstanceKind.Gpu)
        {
            throw OrtExecutionProviders.CudaFailed(options.DeviceId, e);
        }
        catch (BackendException) when (options.Kind == InstanceKind.Auto)
        {
            return (Open(options, settings, null), OrtExecutionProviders.CpuProvider);
        }
    }

    private OrtValue CreatePinnedValue(Tensor tensor, ref MemoryHandle pin)
    {
        var expected = checked(ElementCount(tensor) * tensor.DataType.ElementSize());
        if (tensor.ByteLength != expected)
        {
            throw new BackendException(
                $"input '{tensor.Name}' holds {tensor.ByteLength} bytes but shape {ShapeMath.Format(tensor.Shape)} of {tensor.DataType.ProtocolName()} needs {expected}",
                InferenceErrorKind.InvalidArgument);
        }
        // The buffer is on the pinned object heap already; the pin is what makes that a promise.
        pin = tensor.Memory.Pin();
        unsafe
        {
            return OrtValue.CreateTensorValueWithData(
                OrtMemoryInfo.DefaultInstance, OrtElementTypes.ToOrt(tensor.DataType), tensor.Shape, (nint)pin.Pointer, tensor.ByteLength);
        }
    }

    // BYTES arrive as [u32 length][bytes] per element. Each element is copied into ONNX Runtime's
    // string tensor through a buffer sized to it, so embedded NULs and invalid UTF-8 pass unchanged.
    private static OrtValue CreateStringValue(Tensor tensor)
    {
        var count = ElementCount(tensor);
        ReadOnlySpan<byte> data = tensor.Data;
        if (count > data.Length / sizeof(uint))
        {
            throw new BackendException($"BYTES input '{tensor.Name}' is shorter than its shape {ShapeMath.Format(tensor.Shape)} needs", InferenceErrorKind.InvalidArgument);
        }
        var position = 0;
        for (var i = 0L; i < count; i++)
        {
            position += sizeof(uint) + ReadLength(tensor, data, position);
        }
        if (position != data.Length)
        {
            throw new BackendException(
                $"BYTES input '{tensor.Name}' has {data.Length - position} bytes past its {count} elements",
                InferenceErrorKind.InvalidArgument);
        }

        var value = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, tensor.Shape);
        try
        {
            position = 0;
            for (var i = 0; i < count; i++)
            {
                var length = BinaryPrimitives.ReadInt32LittleEndian(data.Slice(position));
                value.StringTensorSetElementAt(data.Slice(position + sizeof(uint), length), i);
                position += sizeof(uint) + length;
            }
            return value;
        }
        catch
        {
            value.Dispose();
            throw;
        }
    }

    // True when the shape of every requested output follows from the inputs.
    private bool CanPredictShapes(IReadOnlyList<string> outputNames)
    {
        for (var i = 0; i < outputNames.Count; i++)
        {
            if (_outputPlans[_outputIndex[outputNames[i]]] is null)
            {
                return false;
            }
        }
        return true;
    }

    private Tensor[] RunIntoTensors(IReadOnlyList<string> outputNames)
    {
        var count = outputNames.Count;
        var results = new Tensor[count];
        var values = _outputValues;
        var ran = false;
        try
        {
            for (var i = 0; i < count; i++)
            {
                var index = _outputIndex[outputNames[i]];
                var info = Signature.Outputs[index];
                var shape = _outputPlans[index]!.Resolve(_inputTensors);
                var byteLength = checked(ShapeMath.ElementCount(shape) * info.DataType.ElementSize());
                if (byteLength > Tensor.MaxByteLength)
                {
                    throw new BackendException($"output '{info.Name}' is {byteLength} bytes, more than one tensor can hold", code: "RUNTIME_EXCEPTION");
                }
                results[i] = Tensor.Allocate(info.Name, info.DataType, shape, (int)byteLength);
                _outputPins[i] = results[i].Memory.Pin();
                unsafe
                {
                    values[i] = OrtValue.CreateTensorValueWithData(
                        OrtMemoryInfo.DefaultInstance, OrtElementTypes.ToOrt(info.DataType), shape, (nint)_outputPins[i].Pointer, byteLength);
                }
                _binding.BindOutput(info.Name, values[i]);
            }
            _session.RunWithBinding(_runOptions, _binding);
            ran = true;
            return results;
        }
        finally
        {
            for (var i = 0; i < count; i++)
            {
                values[i]?.Dispose();
                values[i] = null!;
                _outputPins[i].Dispose();
                _outputPins[i] = default;
                if (!ran)
                {
                    results[i]?.Dispose();
                }
            }
        }
    }

    private Tensor[] RunAndCopy(IReadOnlyList<string> outputNames)
    {
        for (var i = 0; i < outputNames.Count; i++)
        {
            _binding.BindOutputToDevice(outputNames[i], OrtMemoryInfo.DefaultInstance);
        }
        using var values = _session.RunWithBoundResults(_runOptions, _binding);
        var results = new Tensor[values.Count];
        var made = 0;
        try
        {
            for (; made < results.Length; made++)
            {
                results[made] = CopyOutput(values[made], outputNames[made]);
            }
            return results;
        }
        catch
        {
            for (var i = 0; i < made; i++)
            {
                results[i].Dispose();
            }
            throw;
        }
    }

    private static Tensor CopyOutput(OrtValue value, string name)
    {
        var info = value.GetTensorTypeAndShape();
        var dataType = OrtElementTypes.ToDataType(info.ElementDataType, "output", name);
        var shape = info.Shape;
        var count = ShapeMath.ElementCount(shape);
        if (dataType == DataType.Bytes)
        {
            return CopyStringOutput(value, name, shape, count);
        }
        var byteLength = checked(count * dataType.ElementSize());
        if (byteLength > Tensor.MaxByteLength)
        {
            throw new BackendException($"output '{name}' is {byteLength} bytes, more than one tensor can hold", code: "RUNTIME_EXCEPTION");
        }
        return Tensor.Copy(name, dataType, shape, byteLength == 0 ? [] : value.GetTensorDataAsSpan<byte>());
    }

    // Strings come back one element at a time; they are laid out as [u32 length][bytes] in one
    // pooled buffer that grows as needed and then becomes the tensor's.
    private static Tensor CopyStringOutput(OrtValue value, string name, long[] shape, long count)
    {
        if (count == 0)
        {
            return Tensor.Allocate(name, DataType.Bytes, shape, 0);
        }
        if (count > Tensor.MaxByteLength / sizeof(uint))
        {
            throw new BackendException($"BYTES output '{name}' has {count} elements, more than one tensor can hold", code: "RUNTIME_EXCEPTION");
        }
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(Tensor.MaxByteLength, count * (sizeof(uint) + 16)));
        var length = 0;
        try
        {
            for (var i = 0; i < count; i++)
            {
                var element = value.GetStringElementAsSpan(i);
                var needed = (long)length + sizeof(uint) + element.Length;
                if (needed > Tensor.MaxByteLength)
                {
                    throw new BackendException($"BYTES output '{name}' is more than {Tensor.MaxByteLength} bytes, more than one tensor can hold", code: "RUNTIME_EXCEPTION");
                }
                if (needed > buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(Tensor.MaxByteLength, Math.Max(needed, 2L * buffer.Length)));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(length), element.Length);
                element.CopyTo(buffer.AsSpan(length + sizeof(uint)));
                length = (int)needed;
            }
            return Tensor.Adopt(name, DataType.Bytes, shape, buffer, length);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    private static int ReadLength(Tensor tensor, ReadOnlySpan<byte> data, int position)
    {
        if (data.Length - position < sizeof(uint))
        {
            throw new BackendException($"BYTES input '{tensor.Name}' ends inside an element's length prefix", InferenceErrorKind.InvalidArgument);
        }
        var length = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(position));
        if (length > (uint)(data.Length - position - sizeof(uint)))
        {
            throw new BackendException($"BYTES input '{tensor.Name}' has an element of {length} bytes that runs past the tensor's data", InferenceErrorKind.InvalidArgument);
        }
        return (int)length;
    }

    private static long ElementCount(Tensor tensor)
    {
        foreach (var dim in tensor.Shape)
        {
            if (dim < 0)
            {
                throw new BackendException($"input '{tensor.Name}' has unresolved shape {ShapeMath.Format(tensor.Shape)}", InferenceErrorKind.InvalidArgument);
            }
        }
        return ShapeMath.ElementCount(tensor.Shape);
    }

    private static (ModelSignature Signature, OutputShapePlan?[] Plans) ReadSignature(InferenceSession session)
    {
        var inputNames = session.InputNames;
        var inputs = new TensorInfo[inputNames.Count];
        var inputSymbols = new string[inputNames.Count][];
        for (var i = 0; i < inputs.Length; i++)
        {
            var metadata = session.InputMetadata[inputNames[i]];
            inputs[i] = ReadTensorInfo(inputNames[i], metadata, "input");
            inputSymbols[i] = metadata.SymbolicDimensions;
        }
        var outputNames = session.OutputNames;
        var outputs = new TensorInfo[outputNames.Count];
        var plans = new OutputShapePlan?[outputNames.Count];
        for (var i = 0; i < outputs.Length; i++)
        {
            var metadata = session.OutputMetadata[outputNames[i]];
            outputs[i] = ReadTensorInfo(outputNames[i], metadata, "output");
            plans[i] = outputs[i].DataType == DataType.Bytes ? null : OutputShapePlan.Create(outputs[i].Shape, metadata.SymbolicDimensions, inputSymbols);
        }
        return (new ModelSignature(inputs, outputs), plans);
    }

    private static TensorInfo ReadTensorInfo(string name, NodeMetadata metadata, string role)
    {
        if (metadata.OnnxValueType != OnnxValueType.ONNX_TYPE_TENSOR)
        {
            throw new BackendException(
                $"{role} '{name}' is not a tensor (ONNX value kind {OnnxValueKind(metadata.OnnxValueType)}); the onnxruntime backend serves tensors only",
                code: "NOT_IMPLEMENTED");
        }
        var dataType = OrtElementTypes.ToDataType(metadata.ElementDataType, role, name);
        var dims = metadata.Dimensions;
        var shape = new long[dims.Length];
        // Symbolic and unknown dimensions come back as -1 already; anything negative means "dynamic".
        for (var d = 0; d < dims.Length; d++)
        {
            shape[d] = dims[d] < 0 ? -1 : dims[d];
        }
        return new TensorInfo(name, dataType, shape);
    }

    private static string OnnxValueKind(OnnxValueType type) => type switch
    {
        OnnxValueType.ONNX_TYPE_SEQUENCE => "SEQUENCE",
        OnnxValueType.ONNX_TYPE_MAP => "MAP",
        OnnxValueType.ONNX_TYPE_OPAQUE => "OPAQUE",
        OnnxValueType.ONNX_TYPE_SPARSETENSOR => "SPARSETENSOR",
        OnnxValueType.ONNX_TYPE_OPTIONAL => "OPTIONAL",
        _ => "UNKNOWN",
    };
}
