using System.Net;

namespace InferenceServer.Grpc.Client;

/// <summary>A request body that is already framed (prefix + message), sent as it is; the bytes may be shared by many calls.</summary>
internal sealed class GrpcRequestContent : HttpContent
{
    private readonly ReadOnlyMemory<byte> _framed;

    public GrpcRequestContent(ReadOnlyMemory<byte> framed)
    {
        _framed = framed;
        Headers.TryAddWithoutValidation("Content-Type", "application/grpc");
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        stream.WriteAsync(_framed).AsTask();

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
        stream.WriteAsync(_framed, cancellationToken).AsTask();

    protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
        stream.Write(_framed.Span);

    protected override bool TryComputeLength(out long length)
    {
        length = _framed.Length;
        return true;
    }
}
