using System.Globalization;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using InferenceServer.Protocols.Grpc.Messages;
using Xunit.Abstractions;

namespace InferenceServer.FunctionalTests.Hardening;

/// <summary>
/// Mutated <c>ModelInfer</c> messages sent as raw bytes (a pass-through marshaller, so the client never checks them),
/// and raw HTTP/2 framing abuse on the gRPC port. An answer must be OK or a client error with a message; INTERNAL,
/// UNKNOWN, DATA_LOSS, UNAVAILABLE and no answer within the deadline are failures, and an OK must be well-formed and
/// must not accept tensors that do not fit their shape or datatype.
/// </summary>
[Collection(FuzzCollection.Name)]
public sealed class GrpcFuzzTests(FuzzServer server, ITestOutputHelper output)
{
    private static readonly Marshaller<byte[]> Raw = Marshallers.Create<byte[]>(static b => b, static b => b);

    private static readonly Method<byte[], byte[]> RawInfer = new(MethodType.Unary, "inference.GRPCInferenceService", "ModelInfer", Raw, Raw);

    private static readonly StatusCode[] Failing = [StatusCode.Internal, StatusCode.Unknown, StatusCode.DataLoss, StatusCode.Unavailable];

    public static readonly string[] Names =
    [
        "byte damage", "shape", "datatype", "raw contents length", "inputs", "typed contents", "model name and version", "parameters", "appended wire bytes",
    ];

    [Fact]
    public async Task Model_infer_messages()
    {
        var report = await FuzzLoop.RunAsync(server, "grpc-infer", 1500, Generate, async (c, cancel) =>
        {
            var invoker = server.Channel.CreateCallInvoker();
            try
            {
                var answer = await invoker.AsyncUnaryCall(RawInfer, null, new CallOptions(deadline: DateTime.UtcNow + server.Settings.Timeout, cancellationToken: cancel), c.Bytes);
                return JudgeOk(c.Bytes, answer);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.DeadlineExceeded || cancel.IsCancellationRequested)
            {
                return FuzzVerdict.Hang(server.Settings.Timeout);
            }
            catch (RpcException e)
            {
                var outcome = e.StatusCode.ToString();
                return Failing.Contains(e.StatusCode) ? new FuzzVerdict(outcome, e.StatusCode.ToString().ToUpperInvariant(), $"{e.StatusCode}: {FuzzServer.Cut(e.Status.Detail)}")
                    : e.Status.Detail.Length == 0 ? new FuzzVerdict(outcome, "empty error message", $"{e.StatusCode} with no message")
                    : new FuzzVerdict(outcome);
            }
        });
        report.Finish(output);
    }

    [Fact]
    public async Task Http2_framing()
    {
        var report = await FuzzLoop.RunAsync(server, "grpc-http2", 240, Http2Frames.Generate, (c, cancel) => Http2Frames.SendAsync(server.GrpcAddress, c, cancel), batchSize: 48);
        report.Finish(output);
    }

    private static IEnumerable<ModelInferRequest> Bases()
    {
        yield return FuzzServer.SimpleGrpc();
        var typed = new ModelInferRequest { ModelName = "simple", ModelVersion = "1" };
        foreach (var name in new[] { "INPUT0", "INPUT1" })
        {
            var input = new ModelInferRequest.Types.InferInputTensor { Name = name, Datatype = "INT32", Contents = new InferTensorContents() };
            input.Shape.Add([1, 16]);
            input.Contents.IntContents.Add(Enumerable.Range(0, 16));
            typed.Inputs.Add(input);
        }
        typed.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "OUTPUT1" });
        yield return typed;
        var text = new ModelInferRequest { ModelName = "text_upper" };
        var texts = new ModelInferRequest.Types.InferInputTensor { Name = "TEXT", Datatype = "BYTES", Contents = new InferTensorContents() };
        texts.Shape.Add(3);
        texts.Contents.BytesContents.Add([ByteString.CopyFromUtf8("hello"), ByteString.CopyFromUtf8("wörld"), ByteString.CopyFromUtf8("")]);
        text.Inputs.Add(texts);
        yield return text;
        var income = new ModelInferRequest { ModelName = "income", Id = "income" };
        var features = new ModelInferRequest.Types.InferInputTensor { Name = "features", Datatype = "FP32" };
        features.Shape.Add([2, 58]);
        income.Inputs.Add(features);
        income.RawInputContents.Add(ByteString.CopyFrom(Enumerable.Range(0, 116).SelectMany(i => BitConverter.GetBytes(i % 5 * 0.25f)).ToArray()));
        income.Parameters["priority"] = new InferParameter { Int64Param = 1 };
        yield return income;
        var half = new ModelInferRequest { ModelName = "half_scale" };
        var x = new ModelInferRequest.Types.InferInputTensor { Name = "X", Datatype = "FP16" };
        x.Shape.Add([1, 4]);
        half.Inputs.Add(x);
        half.RawInputContents.Add(ByteString.CopyFrom(new[] { (Half)0.5, (Half)1, (Half)(-2), (Half)3 }.SelectMany(BitConverter.GetBytes).ToArray()));
        yield return half;
    }

    private static readonly ModelInferRequest[] BaseRequests = [.. Bases()];

    private static readonly long[][] Shapes = [[], [-1], [0], [1, -16], [4294967296, 16], [long.MaxValue], [1, 16, 1], [16], [int.MaxValue, int.MaxValue], [1, 0], [long.MinValue], [3037000500, 3037000500], [2, 58], [1, 58], [3]];

    private static readonly string[] Datatypes = ["BOOL", "UINT8", "INT64", "FP16", "BF16", "FP32", "FP64", "BYTES", "STRING", "fp32", "", "INT32 "];

    private static readonly string[] ModelNames = ["", "../simple", "simple\0", "SIMPLE", new string('m', 5000), "simple/../income", "text_upper", "identity", "fuzzcfg", "nope", "sïmple"];

    private static readonly string[] Versions = ["-1", "99999999999999999999", "1.5", "0", "2", " 1", "latest", "1\0"];

    internal static FuzzCase Generate(Random random, int index)
    {
        var request = BaseRequests[random.Next(BaseRequests.Length)].Clone();
        var kind = index < Names.Length * 20 ? index % Names.Length : random.Next(Names.Length);
        string what;
        byte[] bytes;
        var input = request.Inputs[random.Next(request.Inputs.Count)];
        switch (kind)
        {
            case 1:
                input.Shape.Clear();
                input.Shape.Add(Shapes[random.Next(Shapes.Length)]);
                what = $"input '{input.Name}' shape [{string.Join(", ", input.Shape)}]";
                break;
            case 2:
                input.Datatype = Datatypes[random.Next(Datatypes.Length)];
                what = $"input '{input.Name}' datatype '{input.Datatype}'";
                break;
            case 3:
                if (request.RawInputContents.Count == 0)
                {
                    request.RawInputContents.Add(ByteString.CopyFrom(new byte[random.Next(0, 100)]));
                    what = "raw contents added beside typed contents";
                    break;
                }
                var slot = random.Next(request.RawInputContents.Count);
                var raw = request.RawInputContents[slot].ToByteArray();
                int[] deltas = [-1, -4, 1, 4, -raw.Length, 1 << 16];
                var delta = deltas[random.Next(deltas.Length)];
                request.RawInputContents[slot] = ByteString.CopyFrom(delta < 0 ? raw[..(raw.Length + delta)] : [.. raw, .. new byte[delta]]);
                what = $"raw contents {slot} {delta:+#;-#;0} bytes";
                break;
            case 4:
                switch (random.Next(4))
                {
                    case 0:
                        request.Inputs.Add(input.Clone());
                        what = $"input '{input.Name}' twice";
                        break;
                    case 1:
                        request.Inputs.Remove(input);
                        what = $"input '{input.Name}' removed";
                        break;
                    case 2:
                        string[] names = ["", "INPUT2", "features\0", "ïnput", new string('n', 4000), "OUTPUT0"];
                        input.Name = names[random.Next(names.Length)];
                        what = $"an input renamed '{FuzzServer.Cut(input.Name, 20)}'";
                        break;
                    default:
                        request.Inputs.Clear();
                        what = "no inputs";
                        break;
                }
                break;
            case 5:
                input.Contents ??= new InferTensorContents();
                switch (random.Next(4))
                {
                    case 0:
                        input.Contents.IntContents.Add(Enumerable.Range(0, random.Next(1, 40)));
                        what = $"input '{input.Name}' int_contents added";
                        break;
                    case 1:
                        input.Contents.Fp32Contents.Add([float.NaN, float.PositiveInfinity, 1e38f]);
                        what = $"input '{input.Name}' fp32_contents added";
                        break;
                    case 2:
                        byte[][] odd = [[0xFF, 0xFE], [0xC3, 0x28], [0xED, 0xA0, 0x80], [0xE2, 0x82], [], [0x00], [0xF4, 0x90, 0x80, 0x80]];
                        var element = ByteString.CopyFrom(odd[random.Next(odd.Length)]);
                        if (input.Contents.BytesContents.Count > 0)
                        {
                            // The same count, so the tensor still fits its shape and reaches the model.
                            input.Contents.BytesContents[random.Next(input.Contents.BytesContents.Count)] = element;
                        }
                        else
                        {
                            input.Contents.BytesContents.Add(element);
                        }
                        what = $"input '{input.Name}' bytes element {Convert.ToHexString(element.Span)}";
                        break;
                    default:
                        input.Contents.Int64Contents.Add([long.MaxValue, long.MinValue]);
                        input.Contents.BoolContents.Add(true);
                        what = $"input '{input.Name}' int64 and bool contents";
                        break;
                }
                break;
            case 6:
                if (random.Next(2) == 0)
                {
                    request.ModelName = ModelNames[random.Next(ModelNames.Length)];
                    what = $"model '{FuzzServer.Cut(request.ModelName, 20)}'";
                }
                else
                {
                    request.ModelVersion = Versions[random.Next(Versions.Length)];
                    what = $"version '{request.ModelVersion}'";
                }
                break;
            case 7:
                string[] keys = ["binary_data_output", "priority", "timeout", "sequence_id", "sequence_start", "classification", "shared_memory_region", "headers", ""];
                var key = keys[random.Next(keys.Length)];
                var parameter = random.Next(4) switch
                {
                    0 => new InferParameter { Int64Param = random.Next(2) == 0 ? long.MaxValue : -1 },
                    1 => new InferParameter { StringParam = "\u00e9\0" },
                    2 => new InferParameter { BoolParam = true },
                    _ => new InferParameter { DoubleParam = double.NaN },
                };
                (random.Next(2) == 0 ? request.Parameters : input.Parameters)[key] = parameter;
                what = $"parameter '{key}' = {parameter}";
                break;
            default:
                what = "";
                break;
        }
        bytes = request.ToByteArray();
        if (kind == 0)
        {
            var damage = random.Next(ByteMutator.Names.Length);
            bytes = ByteMutator.Mutate(bytes, random, damage);
            what = ByteMutator.Names[damage];
        }
        else if (kind == 8)
        {
            var (tail, described) = WireTails[random.Next(WireTails.Length)];
            bytes = [.. bytes, .. tail];
            what = "appended " + described;
        }
        return new FuzzCase(index, bytes, $"ModelInfer to '{FuzzServer.Cut(request.ModelName, 20)}': {Names[kind]}: {what}");
    }

    // Protobuf wire bytes a library would never write: invalid UTF-8 in string fields, lengths past the end, overlong
    // varints, wire types 3-7, field number 0, a huge raw_input_contents length.
    private static readonly (byte[] Bytes, string What)[] WireTails =
    [
        ([0x0A, 0x03, 0xFF, 0xC3, 0x28], "model_name with invalid UTF-8"),
        ([0x12, 0x03, 0xED, 0xA0, 0x80], "model_version with an encoded surrogate"),
        ([0x2A, 0x05, 0x0A, 0x03, 0xFF, 0xFE, 0xFD], "an input whose name is invalid UTF-8"),
        ([0x2A, 0x7F, 0x0A], "an input whose length runs past the end"),
        ([0x3A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00], "raw_input_contents declaring 4 GiB"),
        ([0x3A, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], "an overlong varint length"),
        ([0x0B, 0x0C], "a group (wire type 3/4)"),
        ([0x0E, 0x00], "wire type 6"),
        ([0x0F], "wire type 7"),
        ([0x00, 0x00], "field number 0"),
        ([0xF8, 0xFF, 0xFF, 0xFF, 0x0F, 0x01], "field number 2^29-1"),
        ([0x2A, 0x06, 0x1A, 0x04, 0xFF, 0xFF, 0xFF, 0xFF], "an input whose packed shape is a truncated varint"),
        ([0x2A, 0x0C, 0x1A, 0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], "an input with shape [-1]"),
        ([0x22, 0x08, 0x0A, 0x01, 0x78, 0x12, 0x03, 0x08, 0x01, 0x00], "a parameters map entry with trailing garbage"),
        ([0x2A, 0x04, 0x2A, 0x02, 0x2A, 0x00], "an input with contents nested in contents"),
    ];

    // An OK must be a response that parses, with one raw output per output; and the request must have been one the
    // server can answer: every input a known input of the model, of its datatype, with raw contents filling the shape.
    private static FuzzVerdict JudgeOk(byte[] request, byte[] answer)
    {
        ModelInferResponse response;
        try
        {
            response = ModelInferResponse.Parser.ParseFrom(answer);
        }
        catch (InvalidProtocolBufferException e)
        {
            return new FuzzVerdict("OK", "malformed OK", $"the answer does not parse: {e.Message}");
        }
        if (response.RawOutputContents.Count != 0 && response.RawOutputContents.Count != response.Outputs.Count)
        {
            return new FuzzVerdict("OK", "malformed OK", $"{response.Outputs.Count} outputs but {response.RawOutputContents.Count} raw output contents");
        }
        ModelInferRequest parsed;
        try
        {
            parsed = ModelInferRequest.Parser.ParseFrom(request);
        }
        catch (InvalidProtocolBufferException)
        {
            return new FuzzVerdict("OK");
        }
        for (var i = 0; i < parsed.Inputs.Count; i++)
        {
            var input = parsed.Inputs[i];
            var model = parsed.ModelName;
            if (!RestOracle.InputTypes.TryGetValue($"{model}/{input.Name}", out var datatype))
            {
                return new FuzzVerdict("OK", "wrong OK", $"input '{FuzzServer.Cut(input.Name, 40)}' is not an input of '{model}'");
            }
            if (input.Datatype != datatype)
            {
                return new FuzzVerdict("OK", "wrong OK", $"input '{input.Name}' is {datatype} but the request says '{input.Datatype}'");
            }
            var size = datatype switch { "INT32" or "FP32" => 4, "FP16" => 2, _ => 0 };
            if (size > 0 && parsed.RawInputContents.Count == parsed.Inputs.Count)
            {
                var elements = input.Shape.Aggregate(1L, (a, d) => d < 0 ? -1 : a * d);
                if (elements < 0 || parsed.RawInputContents[i].Length != elements * size)
                {
                    return new FuzzVerdict("OK", "wrong OK", string.Create(CultureInfo.InvariantCulture,
                        $"input '{input.Name}' shape [{string.Join(", ", input.Shape)}] but {parsed.RawInputContents[i].Length} raw bytes"));
                }
            }
        }
        return new FuzzVerdict("OK");
    }

}
