using System.Buffers;
using Grpc.Core;

namespace InferenceServer.Benchmarks.Grpc;

/// <summary>A received message as Grpc.AspNetCore hands it to a request marshaller: a view of the request buffers.</summary>
internal sealed class PayloadContext(ReadOnlySequence<byte> payload) : DeserializationContext
{
    public override int PayloadLength => (int)payload.Length;

    public override byte[] PayloadAsNewBuffer() => payload.ToArray();

    public override ReadOnlySequence<byte> PayloadAsReadOnlySequence() => payload;
}
