using System.Buffers;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Tensors;
using InferenceServer.Protocols.Grpc.Messages;
using DataType = InferenceServer.Core.Tensors.DataType;
using InferTensor = InferenceServer.Protocols.Grpc.Messages.ModelInferRequest.Types.InferInputTensor;
using RequestedOutput = InferenceServer.Protocols.Grpc.Messages.ModelInferRequest.Types.InferRequestedOutputTensor;

namespace InferenceServer.Protocols.Grpc;

/// <summary>
/// Decodes a <c>ModelInferRequest</c> where it lies in the call's buffers into an <see cref="InferenceRequest"/>.
/// The top level is read field by field so each <c>raw_input_contents</c> entry is copied once, straight into its
/// pooled tensor; the small sub-messages (input and output descriptions, parameters) go through the generated parsers.
/// </summary>
internal static class GrpcInferRequestDecoder
{
    private const string MessageName = "ModelInferRequest";

    public static InferenceRequest Decode(ReadOnlySequence<byte> message)
    {
        string modelName = "", modelVersion = "", id = "";
        List<InferTensor>? inputs = null;
        List<ReadOnlySequence<byte>>? raw = null;
        var request = (InferenceRequest?)null;
        var priority = 0;
        var timeout = 0L;
        Dictionary<string, string>? parameters = null;
        List<string>? outputs = null;

        var reader = new ProtoWireReader(message, MessageName);
        while (!reader.End)
        {
            var (field, wireType) = reader.ReadTag();
            switch (field)
            {
                case 1:
                    reader.Expect(field, wireType, ProtoWireReader.LengthDelimited);
                    modelName = reader.ReadString();
                    break;
                case 2:
                    reader.Expect(field, wireType, ProtoWireReader.LengthDelimited);
                    modelVersion = reader.ReadString();
                    break;
                case 3:
                    reader.Expect(field, wireType, ProtoWireReader.LengthDelimited);
                    id = reader.ReadString();
                    break;
                case 4:
                    reader.Expect(field, wireType, ProtoWireReader.LengthDelimited);
                    ReadRequestParameter(reader.ReadLengthDelimited(), ref priority, ref timeout, ref parameters);
                    break;
                case 5:
                    reader.Expect(field, wireType, ProtoWireReader.LengthDelimited);
                    (inputs ??= []).Add(Parse(InferTensor.Parser, reader.ReadLengthDelimited(), "inputs"));
                    break;
                case 6:
                    reader.Expect(field, wireType, ProtoWireReader.LengthDelimited);
                    (outputs ??= []).Add(ReadRequestedOutput(Parse(RequestedOutput.Parser, reader.ReadLengthDelimited(), "outputs")));
                    break;
                case 7:
                    reader.Expect(field, wireType, ProtoWireReader.LengthDelimited);
                    (raw ??= []).Add(reader.ReadLengthDelimited());
                    break;
                default:
                    reader.Skip(wireType);
                    break;
            }
        }

        if (modelName.Length == 0)
        {
            throw InferenceException.Invalid("the request names no model (model_name is empty)");
        }
        request = new InferenceRequest
        {
            ModelName = modelName,
            ModelVersion = modelVersion.Length == 0 ? null : modelVersion,
            Id = id,
            Priority = priority,
            TimeoutMicroseconds = timeout,
        };
        if (parameters is not null)
        {
            foreach (var (name, value) in parameters)
            {
                request.SetParameter(name, value);
            }
        }
        try
        {
            AddInputs(request, inputs, raw);
            if (outputs is not null)
            {
                request.RequestedOutputs.AddRange(outputs);
            }
            return request;
        }
        catch
        {
            request.Dispose();
            throw;
        }
    }

    private static void AddInputs(InferenceRequest request, List<InferTensor>? inputs, List<ReadOnlySequence<byte>>? raw)
    {
        if (inputs is null)
        {
            return;
        }
        // First: an input in shared memory has no raw contents, which the count check below would misreport.
        foreach (var input in inputs)
        {
            if (SharedMemoryRegion(input.Parameters) is { } region)
            {
                throw SharedMemory.NotSupported($"input '{input.Name}'", "refers to", region, "send its data in contents or raw_input_contents");
            }
        }
        if (raw is not null && raw.Count != inputs.Count)
        {
            throw InferenceException.Invalid($"the request has {inputs.Count} inputs but {raw.Count} raw_input_contents entries; when raw contents are used, every input needs one, in order");
        }
        for (var i = 0; i < inputs.Count; i++)
        {
            var input = inputs[i];
            var name = input.Name;
            if (name.Length == 0)
            {
                throw InferenceException.Invalid($"inputs[{i}] has no name");
            }
            if (!DataTypes.TryParseProtocolName(input.Datatype, out var type))
            {
                throw InferenceException.Invalid($"input '{name}' has datatype '{input.Datatype}', which is not a v2 datatype");
            }
            var shape = new long[input.Shape.Count];
            for (var d = 0; d < shape.Length; d++)
            {
                shape[d] = input.Shape[d];
                if (shape[d] < 0)
                {
                    throw InferenceException.Invalid($"input '{name}' has a negative dimension in its shape {ShapeMath.Format(shape.AsSpan(0, d + 1))}");
                }
            }
            // Checked once here, so the element counts taken below cannot overflow into an OverflowException (INTERNAL,
            // and on a stream the end of the whole call) for what is only a bad request.
            CheckElementCount(name, shape);
            var typed = input.Contents is { } contents ? TensorContentsDecoder.UsedList(contents) : null;
            if (raw is not null)
            {
                if (typed is not null)
                {
                    throw InferenceException.Invalid($"input '{name}' has data in both contents.{typed} and raw_input_contents; give one");
                }
                request.Inputs.Add(FromRaw(name, type, shape, raw[i]));
            }
            else if (typed is not null || (input.Contents is not null && ShapeMath.ElementCount(shape) == 0))
            {
                request.Inputs.Add(TensorContentsDecoder.Decode(name, type, shape, input.Contents!));
            }
            else
            {
                throw InferenceException.Invalid($"input '{name}' has no data: set its contents or raw_input_contents");
            }
        }
    }

    private static void CheckElementCount(string name, long[] shape)
    {
        try
        {
            ShapeMath.ElementCount(shape);
        }
        catch (OverflowException)
        {
            throw InferenceException.Invalid($"input '{name}' has shape {ShapeMath.Format(shape)}, whose element count overflows");
        }
    }

    // The one copy of a raw input: from the request's buffers into the pooled tensor the scheduler will use.
    private static Tensor FromRaw(string name, DataType type, long[] shape, ReadOnlySequence<byte> data)
    {
        var tensor = Tensor.Allocate(name, type, shape, (int)data.Length);
        data.CopyTo(tensor.Data);
        return tensor;
    }

    // A map<string, InferParameter> entry: key = 1, value = 2.
    private static void ReadRequestParameter(ReadOnlySequence<byte> entry, ref int priority, ref long timeout, ref Dictionary<string, string>? parameters)
    {
        var reader = new ProtoWireReader(entry, MessageName + ".parameters");
        var key = "";
        ReadOnlySequence<byte> value = default;
        while (!reader.End)
        {
            var (field, wireType) = reader.ReadTag();
            if (field == 1 && wireType == ProtoWireReader.LengthDelimited)
            {
                key = reader.ReadString();
            }
            else if (field == 2 && wireType == ProtoWireReader.LengthDelimited)
            {
                value = reader.ReadLengthDelimited();
            }
            else
            {
                reader.Skip(wireType);
            }
        }
        switch (key)
        {
            case "priority":
                priority = (int)Integer(key, Parse(InferParameter.Parser, value, "parameters"), int.MaxValue);
                break;
            case "timeout":
                timeout = Integer(key, Parse(InferParameter.Parser, value, "parameters"), long.MaxValue);
                break;
            default:
                // binary_data_output, sequence and other parameters have no meaning to the server; they are kept, as text,
                // for the routing policy, as over REST.
                if (ParameterText(Parse(InferParameter.Parser, value, "parameters")) is { } text)
                {
                    (parameters ??= new Dictionary<string, string>(StringComparer.Ordinal))[key] = text;
                }
                break;
        }
    }

    private static string? ParameterText(InferParameter parameter) => parameter.ParameterChoiceCase switch
    {
        InferParameter.ParameterChoiceOneofCase.StringParam => parameter.StringParam,
        InferParameter.ParameterChoiceOneofCase.BoolParam => parameter.BoolParam ? "true" : "false",
        InferParameter.ParameterChoiceOneofCase.Int64Param => parameter.Int64Param.ToString(System.Globalization.CultureInfo.InvariantCulture),
        InferParameter.ParameterChoiceOneofCase.Uint64Param => parameter.Uint64Param.ToString(System.Globalization.CultureInfo.InvariantCulture),
        InferParameter.ParameterChoiceOneofCase.DoubleParam => parameter.DoubleParam.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        _ => null,
    };

    private static long Integer(string key, InferParameter parameter, long max)
    {
        var (value, ok) = parameter.ParameterChoiceCase switch
        {
            InferParameter.ParameterChoiceOneofCase.Int64Param => (parameter.Int64Param, parameter.Int64Param >= 0 && parameter.Int64Param <= max),
            InferParameter.ParameterChoiceOneofCase.Uint64Param => ((long)Math.Min(parameter.Uint64Param, (ulong)long.MaxValue), parameter.Uint64Param <= (ulong)max),
            _ => (0L, false),
        };
        return ok ? value : throw InferenceException.Invalid($"parameter '{key}' must be an integer from 0 to {max} in int64_param or uint64_param");
    }

    private static string ReadRequestedOutput(RequestedOutput output)
    {
        if (output.Name.Length == 0)
        {
            throw InferenceException.Invalid("a requested output has no name");
        }
        if (SharedMemoryRegion(output.Parameters) is { } region)
        {
            throw SharedMemory.NotSupported($"output '{output.Name}'", "asks to be written to", region, "leave the shared-memory parameters out to get it in the response");
        }
        if (output.Parameters.ContainsKey("classification"))
        {
            throw InferenceException.Invalid($"output '{output.Name}': the classification extension is not supported");
        }
        return output.Name;
    }

    // The region a tensor's shared-memory parameters name ("" when only the size or offset is given); null without them.
    private static string? SharedMemoryRegion(Google.Protobuf.Collections.MapField<string, InferParameter> parameters)
    {
        if (parameters.Count == 0)
        {
            return null;
        }
        foreach (var key in parameters.Keys)
        {
            if (SharedMemory.IsParameter(key))
            {
                return parameters.TryGetValue(SharedMemory.RegionParameter, out var region) ? region.StringParam : "";
            }
        }
        return null;
    }

    private static T Parse<T>(Google.Protobuf.MessageParser<T> parser, ReadOnlySequence<byte> bytes, string field)
        where T : Google.Protobuf.IMessage<T>
    {
        try
        {
            return parser.ParseFrom(bytes);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw InferenceException.Invalid($"malformed {MessageName}.{field}: {e.Message}");
        }
    }
}
