using System.Buffers;
using Grpc.Core;

namespace InferenceServer.UnitTests.TestDoubles;

/// <summary>A received message as a marshaller's deserializer sees it, in as many segments as a test likes.</summary>
internal sealed class PayloadDeserializationContext(ReadOnlySequence<byte> payload) : DeserializationContext
{
    public PayloadDeserializationContext(byte[] payload)
        : this(new ReadOnlySequence<byte>(payload))
    {
    }

    public override int PayloadLength => (int)payload.Length;

    public override byte[] PayloadAsNewBuffer() => payload.ToArray();

    public override ReadOnlySequence<byte> PayloadAsReadOnlySequence() => payload;
}
