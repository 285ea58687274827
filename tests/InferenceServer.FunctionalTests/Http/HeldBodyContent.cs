using System.Net;

namespace InferenceServer.FunctionalTests.Http;

/// <summary>
/// A request body of <c>length</c> bytes, its length declared, that sends its first
/// <c>sentFirst</c> bytes at once and the rest only once <see cref="Release"/> is called: a slow client holding part of
/// the server's attention. The bytes are <c>content</c> when given (its length is <c>length</c>), else 'x's.
/// </summary>
internal sealed class HeldBodyContent(int length, int sentFirst, byte[]? content = null) : HttpContent
{
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Release() => _released.TrySetResult();

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        var body = content ?? new byte[length];
        if (content is null)
        {
            body.AsSpan().Fill((byte)'x');
        }
        await stream.WriteAsync(body.AsMemory(0, sentFirst));
        await stream.FlushAsync();
        await _released.Task;
        await stream.WriteAsync(body.AsMemory(sentFirst));
    }

    protected override bool TryComputeLength(out long length1)
    {
        length1 = length;
        return true;
    }
}
