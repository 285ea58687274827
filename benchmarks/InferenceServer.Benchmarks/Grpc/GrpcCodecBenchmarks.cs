using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Google.Protobuf;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Tensors;
using InferenceServer.Protocols.Grpc;
using InferenceServer.Protocols.Grpc.Messages;
using DataType = InferenceServer.Core.Tensors.DataType;

namespace InferenceServer.Benchmarks.Grpc;

/// <summary>
/// Per-call cost of the gRPC codec, as the ModelInfer marshallers run inside Grpc.AspNetCore: decoding a
/// <c>ModelInferRequest</c> with raw contents from the received payload into pooled tensors, and writing a
/// <c>ModelInferResponse</c> from the output tensors, with its length declared first, into the response pipe (after
/// the 5-byte prefix the library writes there). Payloads: an <c>income</c> request (FP32 [1,58] in, [1,1] out) and a
/// batch of 64 images (FP32 [64,3,224,224] in, 38.5 MB; [64,1000] class scores out). The baseline is what
/// Google.Protobuf does by itself: parse the whole message (raw contents copied into ByteStrings) then copy each into
/// a tensor; on the way out, copy each output into a ByteString, serialize to a new array, then copy that into the pipe.
/// </summary>
/// <remarks>Public and unsealed because BenchmarkDotNet derives its generated runner from it.</remarks>
[MemoryDiagnoser]
[CategoriesColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
public class GrpcCodecBenchmarks
{
    private ReadOnlySequence<byte> _payload;
    private PayloadContext? _received;
    private PipeSerializationContext? _sending;
    private InferenceResponse? _response;
    private Pipe _pipe = new();
    private byte[]? _captured;
    private bool _capture;

    [Params(GrpcPayload.Income, GrpcPayload.Images64)]
    public GrpcPayload Payload { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var (inputShape, outputShape) = Payload == GrpcPayload.Income
            ? (new long[] { 1, 58 }, new long[] { 1, 1 })
            : (new long[] { 64, 3, 224, 224 }, new long[] { 64, 1000 });
        var request = new ModelInferRequest { ModelName = "m", Id = "42" };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "input", Datatype = "FP32" };
        input.Shape.AddRange(inputShape);
        request.Inputs.Add(input);
        request.RawInputContents.Add(ByteString.CopyFrom(Floats(ShapeMath.ElementCount(inputShape), seed: 1)));
        _payload = new ReadOnlySequence<byte>(request.ToByteArray());
        _received = new PayloadContext(_payload);

        var output = Tensor.Copy("scores", DataType.Fp32, outputShape, Floats(ShapeMath.ElementCount(outputShape), seed: 2));
        _response = new InferenceResponse("m", "1", "42", [output]);
        // No back-pressure: the benchmark drains the pipe after each call, as the socket would.
        _pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0, resumeWriterThreshold: 0, useSynchronizationContext: false));
        _sending = new PipeSerializationContext(_pipe.Writer);
        Check(inputShape);
    }

    [GlobalCleanup]
    public void Cleanup() => _response?.Dispose();

    [Benchmark(Baseline = true, Description = "Google.Protobuf parse + copy")]
    [BenchmarkCategory("Decode")]
    public int DecodeBaseline()
    {
        var request = ModelInferRequest.Parser.ParseFrom(_payload);
        var total = 0;
        for (var i = 0; i < request.Inputs.Count; i++)
        {
            var input = request.Inputs[i];
            using var tensor = Tensor.Copy(input.Name, DataType.Fp32, [.. input.Shape], request.RawInputContents[i].Span);
            total += tensor.ByteLength;
        }
        return total;
    }

    [Benchmark(Description = "ModelInfer marshaller: wire reader, one copy")]
    [BenchmarkCategory("Decode")]
    public int Decode()
    {
        using var request = ModelInferMarshallers.Request.ContextualDeserializer(_received!);
        return request.Inputs[0].ByteLength;
    }

    [Benchmark(Baseline = true, Description = "copy to ByteString + ToByteArray + copy")]
    [BenchmarkCategory("Encode")]
    public long EncodeBaseline()
    {
        var message = new ModelInferResponse { ModelName = _response!.ModelName, ModelVersion = _response.ModelVersion, Id = _response.Id };
        foreach (var output in _response.Outputs)
        {
            var tensor = new ModelInferResponse.Types.InferOutputTensor { Name = output.Name, Datatype = "FP32" };
            tensor.Shape.AddRange(output.Shape);
            message.Outputs.Add(tensor);
            message.RawOutputContents.Add(ByteString.CopyFrom(output.Data));
        }
        var bytes = message.ToByteArray();
        _sending!.SetPayloadLength(bytes.Length);
        _pipe.Writer.Write(bytes);
        return Drain();
    }

    // What the ModelInfer response marshaller does, less releasing the response (which it owns in the server): the
    // response here is reused by every call.
    [Benchmark(Description = "ModelInfer marshaller: wrap outputs + write into the pipe")]
    [BenchmarkCategory("Encode")]
    public long Encode()
    {
        ProtobufMarshallers.Write(GrpcInferResponseEncoder.ToMessage(_response!), _sending!, int.MaxValue);
        return Drain();
    }

    // Hands the written bytes to the reader side and releases them, as Kestrel does once they are on the socket.
    private long Drain()
    {
        _pipe.Writer.FlushAsync().GetAwaiter().GetResult();
        _pipe.Reader.TryRead(out var result);
        var length = result.Buffer.Length;
        if (_capture)
        {
            _captured = result.Buffer.ToArray();
        }
        _pipe.Reader.AdvanceTo(result.Buffer.End);
        return length;
    }

    private static byte[] Floats(long count, int seed)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = random.NextSingle();
        }
        return MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
    }

    // Both paths must produce the same bytes before their costs are compared.
    private void Check(long[] inputShape)
    {
        using var ours = ModelInferMarshallers.Request.ContextualDeserializer(_received!);
        var parsed = ModelInferRequest.Parser.ParseFrom(_payload);
        if (!ours.Inputs[0].Data.SequenceEqual(parsed.RawInputContents[0].Span) || !ours.Inputs[0].Shape.AsSpan().SequenceEqual(inputShape))
        {
            throw new InvalidOperationException("the decoder and Google.Protobuf disagree on the input");
        }
        _capture = true;
        EncodeBaseline();
        var baseline = _captured!;
        Encode();
        var encoded = _captured!;
        _capture = false;
        if (!baseline.AsSpan().SequenceEqual(encoded))
        {
            throw new InvalidOperationException($"the encoders wrote different messages ({encoded.Length} and {baseline.Length} bytes)");
        }
    }
}

/// <summary>The gRPC payloads: one <c>income</c> row, or a batch of 64 ImageNet-sized images.</summary>
public enum GrpcPayload
{
    Income,
    Images64,
}
