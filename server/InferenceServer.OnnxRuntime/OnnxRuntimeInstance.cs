using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Tensors;
using InferenceServer.OnnxRuntime.Interop;

namespace InferenceServer.OnnxRuntime;

/// <summary>
/// One ONNX Runtime session. Inputs of fixed-size types are handed to ONNX Runtime over their pinned
/// pooled buffers without a copy; outputs are allocated by ONNX Runtime and copied once into pooled
/// tensors. Everything a run needs besides its tensors (name tables, value slots, pin slots) is
/// allocated when the instance is created, which is safe because an instance runs on one thread at a time.
/// </summary>
internal sealed unsafe class OnnxRuntimeInstance : IModelInstance
{
    private readonly OrtRuntime _runtime;
    private readonly OrtApi _api;
    private readonly OrtSessionHandle _session;
    private readonly nint _sessionPointer;
    private readonly NativeStringArray _inputNames;
    private readonly NativeStringArray _outputNames;
    private readonly Dictionary<string, int> _inputIndex;
    private readonly Dictionary<string, int> _outputIndex;
    private readonly DataType[] _inputTypes;
    // Per-run scratch: input name pointers, input values, output name pointers, output values.
    private readonly NativeBlock _runSlots;
    private readonly MemoryHandle[] _pins;
    private bool _disposed;

    private OnnxRuntimeInstance(OrtRuntime runtime, OrtSessionHandle session, ModelSignature signature)
    {
        _runtime = runtime;
        _api = runtime.Api;
        _session = session;
        _sessionPointer = session.DangerousGetHandle();
        Signature = signature;

        var inputCount = signature.Inputs.Count;
        var outputCount = signature.Outputs.Count;
        var inputNames = new string[inputCount];
        _inputTypes = new DataType[inputCount];
        _inputIndex = new Dictionary<string, int>(inputCount, StringComparer.Ordinal);
        for (var i = 0; i < inputCount; i++)
        {
            inputNames[i] = signature.Inputs[i].Name;
            _inputTypes[i] = signature.Inputs[i].DataType;
            _inputIndex[inputNames[i]] = i;
        }
        var outputNames = new string[outputCount];
        _outputIndex = new Dictionary<string, int>(outputCount, StringComparer.Ordinal);
        for (var i = 0; i < outputCount; i++)
        {
            outputNames[i] = signature.Outputs[i].Name;
            _outputIndex[outputNames[i]] = i;
        }

        _pins = new MemoryHandle[inputCount];
        _inputNames = NativeStringArray.Create(inputNames);
        _outputNames = NativeStringArray.Create(outputNames);
        _runSlots = NativeBlock.Allocate((nuint)(2 * (inputCount + outputCount)) * (nuint)sizeof(nint));
    }

    public ModelSignature Signature { get; }

    public static OnnxRuntimeInstance Create(InstanceOptions options)
    {
        // Parameters are checked before the library is touched, so a config error reads as one.
        var settings = OnnxRuntimeSessionSettings.From(options);
        var runtime = OrtRuntime.Shared;
        var api = runtime.Api;

        using var sessionOptions = new OrtSessionOptionsHandle();
        nint rawOptions;
        var status = api.CreateSessionOptions(&rawOptions);
        sessionOptions.Attach(rawOptions);
        api.Check(status, "ONNX Runtime could not create session options");
        settings.ApplyTo(api, rawOptions);
        OrtExecutionProviders.Configure(runtime, sessionOptions, options.Kind, options.DeviceId);

        var session = new OrtSessionHandle();
        try
        {
            var path = Utf8String.ToNullTerminated(options.ModelPath);
            nint rawSession;
            fixed (byte* pathPointer = path)
            {
                status = api.CreateSession(runtime.Env, pathPointer, rawOptions, &rawSession);
            }
            session.Attach(rawSession);
            api.Check(status, $"ONNX Runtime could not load model '{options.ModelPath}'");
            var signature = ReadSignature(api, runtime.DefaultAllocator, rawSession);
            return new OnnxRuntimeInstance(runtime, session, signature);
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
        var signatureOutputs = _outputNames.Count;
        if (outputCount > signatureOutputs)
        {
            throw new BackendException($"{outputCount} outputs requested but the model has {signatureOutputs}", "INVALID_ARGUMENT");
        }

        var slots = (nint*)_runSlots.Pointer;
        var runInputNames = (byte**)slots;
        var runInputValues = slots + signatureInputs;
        var runOutputNames = (byte**)(runInputValues + signatureInputs);
        var runOutputValues = (nint*)(runOutputNames + signatureOutputs);
        new Span<nint>(runInputValues, signatureInputs).Clear();
        new Span<nint>(runOutputValues, signatureOutputs).Clear();

        Span<bool> seen = signatureInputs <= 256 ? stackalloc bool[signatureInputs] : new bool[signatureInputs];
        Span<bool> requested = signatureOutputs <= 256 ? stackalloc bool[signatureOutputs] : new bool[signatureOutputs];
        try
        {
            for (var i = 0; i < inputCount; i++)
            {
                var tensor = inputs[i];
                if (!_inputIndex.TryGetValue(tensor.Name, out var index))
                {
                    throw new BackendException($"input '{tensor.Name}' is not an input of this model", "INVALID_ARGUMENT");
                }
                if (seen[index])
                {
                    throw new BackendException($"input '{tensor.Name}' is given more than once", "INVALID_ARGUMENT");
                }
                seen[index] = true;
                if (tensor.DataType != _inputTypes[index])
                {
                    throw new BackendException(
                        $"input '{tensor.Name}' is {tensor.DataType.ProtocolName()} but the model expects {_inputTypes[index].ProtocolName()}",
                        "INVALID_ARGUMENT");
                }
                runInputNames[i] = _inputNames.Pointers[index];
                runInputValues[i] = tensor.DataType == DataType.Bytes ? CreateStringValue(tensor) : CreatePinnedValue(tensor, ref _pins[i]);
            }
            for (var i = 0; i < signatureInputs; i++)
            {
                if (!seen[i])
                {
                    throw new BackendException($"input '{Signature.Inputs[i].Name}' is missing", "INVALID_ARGUMENT");
                }
            }
            for (var i = 0; i < outputCount; i++)
            {
                if (!_outputIndex.TryGetValue(outputNames[i], out var index))
                {
                    throw new BackendException($"output '{outputNames[i]}' is not an output of this model", "INVALID_ARGUMENT");
                }
                if (requested[index])
                {
                    throw new BackendException($"output '{outputNames[i]}' is requested more than once", "INVALID_ARGUMENT");
                }
                requested[index] = true;
                runOutputNames[i] = _outputNames.Pointers[index];
            }

            _api.Check(
                _api.Run(_sessionPointer, 0, runInputNames, runInputValues, (nuint)inputCount, runOutputNames, (nuint)outputCount, runOutputValues),
                "ONNX Runtime failed to run the model");

            var results = new Tensor[outputCount];
            var made = 0;
            try
            {
                for (; made < outputCount; made++)
                {
                    results[made] = CopyOutput(runOutputValues[made], outputNames[made]);
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
        finally
        {
            for (var i = 0; i < signatureInputs; i++)
            {
                if (runInputValues[i] != 0)
                {
                    _api.ReleaseValue(runInputValues[i]);
                    runInputValues[i] = 0;
                }
                _pins[i].Dispose();
                _pins[i] = default;
            }
            for (var i = 0; i < signatureOutputs; i++)
            {
                if (runOutputValues[i] != 0)
                {
                    _api.ReleaseValue(runOutputValues[i]);
                    runOutputValues[i] = 0;
                }
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
        _session.Dispose();
        _inputNames.Dispose();
        _outputNames.Dispose();
        _runSlots.Dispose();
    }

    private nint CreatePinnedValue(Tensor tensor, ref MemoryHandle pin)
    {
        var shape = tensor.Shape;
        var expected = checked(ElementCount(tensor) * tensor.DataType.ElementSize());
        if (tensor.ByteLength != expected)
        {
            throw new BackendException(
                $"input '{tensor.Name}' holds {tensor.ByteLength} bytes but shape {ShapeMath.Format(shape)} of {tensor.DataType.ProtocolName()} needs {expected}",
                "INVALID_ARGUMENT");
        }
        pin = tensor.Memory.Pin();
        nint value;
        long none = 0;
        fixed (long* dims = shape)
        {
            _api.Check(
                _api.CreateTensorWithDataAsOrtValue(
                    _runtime.CpuMemoryInfo, pin.Pointer, (nuint)tensor.ByteLength, shape.Length == 0 ? &none : dims, (nuint)shape.Length, (int)tensor.DataType, &value),
                "ONNX Runtime could not wrap an input tensor");
        }
        return value;
    }

    // BYTES arrive as [u32 length][bytes] per element. FillStringTensor copies NUL-terminated strings
    // from one scratch block in a single call; an element with an embedded NUL would be cut short
    // that way, so such a tensor is filled element by element through sized buffers instead.
    private nint CreateStringValue(Tensor tensor)
    {
        var count = ElementCount(tensor);
        ReadOnlySpan<byte> data = tensor.Data;
        if (count > data.Length / sizeof(uint))
        {
            throw new BackendException($"BYTES input '{tensor.Name}' is shorter than its shape {ShapeMath.Format(tensor.Shape)} needs", "INVALID_ARGUMENT");
        }
        var payload = 0L;
        var hasNul = false;
        var position = 0;
        for (var i = 0L; i < count; i++)
        {
            var length = ReadLength(tensor, data, position);
            var element = data.Slice(position + sizeof(uint), length);
            hasNul |= element.Contains((byte)0);
            payload += length;
            position += sizeof(uint) + length;
        }
        if (position != data.Length)
        {
            throw new BackendException(
                $"BYTES input '{tensor.Name}' has {data.Length - position} bytes past its {count} elements",
                "INVALID_ARGUMENT");
        }

        var shape = tensor.Shape;
        nint value;
        long none = 0;
        fixed (long* dims = shape)
        {
            _api.Check(
                _api.CreateTensorAsOrtValue(_runtime.DefaultAllocator, shape.Length == 0 ? &none : dims, (nuint)shape.Length, OrtElementTypes.String, &value),
                "ONNX Runtime could not create a string tensor");
        }
        try
        {
            if (count == 0)
            {
                return value;
            }
            if (hasNul)
            {
                FillStringsBySize(value, data, count);
            }
            else
            {
                FillStringsTerminated(value, data, count, payload);
            }
            return value;
        }
        catch
        {
            _api.ReleaseValue(value);
            throw;
        }
    }

    private void FillStringsTerminated(nint value, ReadOnlySpan<byte> data, long count, long payload)
    {
        var tableBytes = (nuint)count * (nuint)sizeof(byte*);
        var scratch = (byte*)NativeMemory.Alloc(tableBytes + (nuint)payload + (nuint)count);
        try
        {
            var table = (byte**)scratch;
            var text = scratch + tableBytes;
            var position = 0;
            for (var i = 0L; i < count; i++)
            {
                var length = BinaryPrimitives.ReadInt32LittleEndian(data.Slice(position));
                data.Slice(position + sizeof(uint), length).CopyTo(new Span<byte>(text, length));
                text[length] = 0;
                table[i] = text;
                text += length + 1;
                position += sizeof(uint) + length;
            }
            _api.Check(_api.FillStringTensor(value, table, (nuint)count), "ONNX Runtime could not fill a string tensor");
        }
        finally
        {
            NativeMemory.Free(scratch);
        }
    }

    private void FillStringsBySize(nint value, ReadOnlySpan<byte> data, long count)
    {
        var position = 0;
        for (var i = 0L; i < count; i++)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(data.Slice(position));
            byte* buffer;
            _api.Check(
                _api.GetResizedStringTensorElementBuffer(value, (nuint)i, (nuint)length, &buffer),
                "ONNX Runtime could not size a string element");
            data.Slice(position + sizeof(uint), length).CopyTo(new Span<byte>(buffer, length));
            position += sizeof(uint) + length;
        }
    }

    private Tensor CopyOutput(nint value, string name)
    {
        nint info;
        _api.Check(_api.GetTensorTypeAndShape(value, &info), "ONNX Runtime could not describe an output");
        int elementType;
        long[] shape;
        try
        {
            _api.Check(_api.GetTensorElementType(info, &elementType), "ONNX Runtime could not read an output's element type");
            nuint rank;
            _api.Check(_api.GetDimensionsCount(info, &rank), "ONNX Runtime could not read an output's rank");
            shape = rank == 0 ? [] : new long[rank];
            fixed (long* dims = shape)
            {
                long none = 0;
                _api.Check(_api.GetDimensions(info, rank == 0 ? &none : dims, rank), "ONNX Runtime could not read an output's shape");
            }
        }
        finally
        {
            _api.ReleaseTensorTypeAndShapeInfo(info);
        }

        var dataType = OrtElementTypes.ToDataType(elementType, "output", name);
        var count = ShapeMath.ElementCount(shape);
        if (dataType == DataType.Bytes)
        {
            return CopyStringOutput(value, name, shape, count);
        }

        var byteLength = checked(count * dataType.ElementSize());
        if (byteLength > Array.MaxLength)
        {
            throw new BackendException($"output '{name}' is {byteLength} bytes, more than one tensor can hold", "RUNTIME_EXCEPTION");
        }
        var tensor = Tensor.Allocate(name, dataType, shape, (int)byteLength);
        if (byteLength > 0)
        {
            try
            {
                void* source;
                _api.Check(_api.GetTensorMutableData(value, &source), "ONNX Runtime could not expose an output's data");
                new ReadOnlySpan<byte>(source, (int)byteLength).CopyTo(tensor.Data);
            }
            catch
            {
                tensor.Dispose();
                throw;
            }
        }
        return tensor;
    }

    // ONNX Runtime hands strings back as one run of bytes plus start offsets. They are read straight
    // into the tail of the result buffer and then moved forward element by element to make room for
    // each length prefix; a destination never overtakes a source not yet moved, so no second buffer is needed.
    private Tensor CopyStringOutput(nint value, string name, long[] shape, long count)
    {
        nuint payload;
        _api.Check(_api.GetStringTensorDataLength(value, &payload), "ONNX Runtime could not size a string output");
        var byteLength = checked((long)payload + (sizeof(uint) * count));
        if (byteLength > Array.MaxLength)
        {
            throw new BackendException($"BYTES output '{name}' is {byteLength} bytes, more than one tensor can hold", "RUNTIME_EXCEPTION");
        }
        var tensor = Tensor.Allocate(name, DataType.Bytes, shape, (int)byteLength);
        if (count == 0)
        {
            return tensor;
        }
        var offsets = ArrayPool<nuint>.Shared.Rent((int)count);
        try
        {
            var data = tensor.Data;
            var headers = (int)(sizeof(uint) * count);
            byte none = 0;
            fixed (byte* tail = data.Slice(headers))
            fixed (nuint* offsetPointer = offsets)
            {
                _api.Check(
                    _api.GetStringTensorContent(value, payload == 0 ? &none : tail, payload, offsetPointer, (nuint)count),
                    "ONNX Runtime could not read a string output");
            }
            for (var i = 0; i < count; i++)
            {
                var start = (int)offsets[i];
                var end = i + 1 < count ? (int)offsets[i + 1] : (int)payload;
                var length = end - start;
                var destination = (sizeof(uint) * i) + start;
                data.Slice(headers + start, length).CopyTo(data.Slice(destination + sizeof(uint)));
                BinaryPrimitives.WriteInt32LittleEndian(data.Slice(destination), length);
            }
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
        finally
        {
            ArrayPool<nuint>.Shared.Return(offsets);
        }
    }

    private static int ReadLength(Tensor tensor, ReadOnlySpan<byte> data, int position)
    {
        if (data.Length - position < sizeof(uint))
        {
            throw new BackendException($"BYTES input '{tensor.Name}' ends inside an element's length prefix", "INVALID_ARGUMENT");
        }
        var length = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(position));
        if (length > (uint)(data.Length - position - sizeof(uint)))
        {
            throw new BackendException($"BYTES input '{tensor.Name}' has an element of {length} bytes that runs past the tensor's data", "INVALID_ARGUMENT");
        }
        return (int)length;
    }

    private static long ElementCount(Tensor tensor)
    {
        foreach (var dim in tensor.Shape)
        {
            if (dim < 0)
            {
                throw new BackendException($"input '{tensor.Name}' has unresolved shape {ShapeMath.Format(tensor.Shape)}", "INVALID_ARGUMENT");
            }
        }
        return ShapeMath.ElementCount(tensor.Shape);
    }

    private static ModelSignature ReadSignature(OrtApi api, nint allocator, nint session)
    {
        nuint inputCount;
        nuint outputCount;
        api.Check(api.SessionGetInputCount(session, &inputCount), "ONNX Runtime could not count the model's inputs");
        api.Check(api.SessionGetOutputCount(session, &outputCount), "ONNX Runtime could not count the model's outputs");
        var inputs = new TensorInfo[(int)inputCount];
        for (var i = 0; i < inputs.Length; i++)
        {
            inputs[i] = ReadTensorInfo(api, allocator, session, i, isInput: true);
        }
        var outputs = new TensorInfo[(int)outputCount];
        for (var i = 0; i < outputs.Length; i++)
        {
            outputs[i] = ReadTensorInfo(api, allocator, session, i, isInput: false);
        }
        return new ModelSignature(inputs, outputs);
    }

    private static TensorInfo ReadTensorInfo(OrtApi api, nint allocator, nint session, int index, bool isInput)
    {
        var role = isInput ? "input" : "output";
        byte* rawName;
        api.Check(
            isInput ? api.SessionGetInputName(session, (nuint)index, allocator, &rawName) : api.SessionGetOutputName(session, (nuint)index, allocator, &rawName),
            "ONNX Runtime could not read a tensor name");
        string name;
        try
        {
            name = Utf8String.Read(rawName);
        }
        finally
        {
            api.Check(api.AllocatorFree(allocator, rawName), "ONNX Runtime could not free a tensor name");
        }

        nint typeInfo;
        api.Check(
            isInput ? api.SessionGetInputTypeInfo(session, (nuint)index, &typeInfo) : api.SessionGetOutputTypeInfo(session, (nuint)index, &typeInfo),
            "ONNX Runtime could not read a tensor type");
        try
        {
            nint tensorInfo;
            api.Check(api.CastTypeInfoToTensorInfo(typeInfo, &tensorInfo), "ONNX Runtime could not read a tensor type");
            if (tensorInfo == 0)
            {
                int onnxType;
                api.Check(api.GetOnnxTypeFromTypeInfo(typeInfo, &onnxType), "ONNX Runtime could not read a value type");
                throw new BackendException(
                    $"{role} '{name}' is not a tensor (ONNX value kind {OnnxValueKind(onnxType)}); the onnxruntime backend serves tensors only",
                    "NOT_IMPLEMENTED");
            }
            int elementType;
            api.Check(api.GetTensorElementType(tensorInfo, &elementType), "ONNX Runtime could not read an element type");
            var dataType = OrtElementTypes.ToDataType(elementType, role, name);
            nuint rank;
            api.Check(api.GetDimensionsCount(tensorInfo, &rank), "ONNX Runtime could not read a rank");
            var shape = rank == 0 ? [] : new long[rank];
            fixed (long* dims = shape)
            {
                long none = 0;
                api.Check(api.GetDimensions(tensorInfo, rank == 0 ? &none : dims, rank), "ONNX Runtime could not read a shape");
            }
            // Symbolic and unknown dimensions come back as -1 already; anything negative means "dynamic".
            for (var d = 0; d < shape.Length; d++)
            {
                if (shape[d] < 0)
                {
                    shape[d] = -1;
                }
            }
            return new TensorInfo(name, dataType, shape);
        }
        finally
        {
            api.ReleaseTypeInfo(typeInfo);
        }
    }

    private static string OnnxValueKind(int onnxType) => onnxType switch
    {
        2 => "SEQUENCE",
        3 => "MAP",
        4 => "OPAQUE",
        5 => "SPARSETENSOR",
        6 => "OPTIONAL",
        _ => "UNKNOWN",
    };
}
