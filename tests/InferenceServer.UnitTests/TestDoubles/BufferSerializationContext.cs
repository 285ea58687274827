using System.Buffers;
using Grpc.Core;

namespace InferenceServer.UnitTests.TestDoubles;

/// <summary>Where a marshaller's serializer writes in a test: the payload length it declared and the bytes it wrote.</summary>
internal sealed class BufferSerializationContext : SerializationContext
{
    private readonly ArrayBufferWriter<byte> _buffer = new();

    public int? DeclaredLength { get; private set; }

    public bool Completed { get; private set; }

    public byte[] Written => _buffer.WrittenSpan.ToArray();

    public override void SetPayloadLength(int payloadLength) => DeclaredLength = payloadLength;

    public override IBufferWriter<byte> GetBufferWriter() => _buffer;

    public override void Complete() => Completed = true;

    public override void Complete(byte[] payload)
    {
        _buffer.Write(payload);
        Completed = true;
    }
}
