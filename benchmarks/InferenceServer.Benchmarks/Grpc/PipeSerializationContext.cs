using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Grpc.Core;

namespace InferenceServer.Benchmarks.Grpc;

/// <summary>
/// Where a response marshaller writes in the benchmark: what Grpc.AspNetCore's serialization context does for an
/// uncompressed message of declared length, the 5-byte prefix then the message straight into the response pipe.
/// </summary>
internal sealed class PipeSerializationContext(PipeWriter pipe) : SerializationContext
{
    public override void SetPayloadLength(int payloadLength)
    {
        var header = pipe.GetSpan(5);
        header[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(header[1..], (uint)payloadLength);
        pipe.Advance(5);
    }

    public override IBufferWriter<byte> GetBufferWriter() => pipe;

    public override void Complete()
    {
    }

    public override void Complete(byte[] payload) => throw new NotSupportedException("the marshallers measured here declare the length and write into the buffer writer");
}
