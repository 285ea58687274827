using System.IO.Pipelines;
using InferenceServer.Core.Inference;
using InferenceServer.Protocols.Buffers;
using InferenceServer.Protocols.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace InferenceServer.UnitTests.Protocols.Http;

/// <summary>
/// A REST body's room in the body budget: what a body holds is its size rounded up to the budget's unit once, however
/// its bytes arrived, so bodies that together fit the budget are all read.
/// </summary>
public sealed class RequestBodyTests
{
    private const int Unit = RequestBodyBudget.BytesPerPermit;

    // Reads of 20 KiB + 1 byte: each is larger than what the buffer has left, so the buffer grows to an odd size.
    private const int Read = 20 * Unit + 1;
    private const int BodyBytes = 4 * Read;
    private const int BodyUnits = (BodyBytes + Unit - 1) / Unit;

    [Fact]
    public async Task BodiesThatTogetherFitTheBudgetAreAllReadHoweverTheirBytesArrive()
    {
        // Exactly two bodies' worth, and no waiting: a body that found no room would be refused at once.
        using var budget = new RequestBodyBudget(2L * BodyUnits * Unit, TimeSpan.Zero, TimeProvider.System);

        using var first = await RequestBody.ReadAsync(Request(BodyBytes), BodyBytes, budget, CancellationToken.None);
        using var second = await RequestBody.ReadAsync(Request(BodyBytes), BodyBytes, budget, CancellationToken.None);

        Assert.Equal(BodyBytes, first.Length);
        Assert.Equal(BodyBytes, second.Length);
        Assert.True(second.Span.SequenceEqual(Body(BodyBytes)), "the body's bytes came through unchanged");
        Assert.Equal(2L * BodyUnits * Unit, budget.ReservedBytes);
        // And the budget is full: a third body, however small, finds no room.
        var third = await Assert.ThrowsAsync<InferenceException>(() => RequestBody.ReadAsync(Request(10), 10, budget, CancellationToken.None));
        Assert.Equal(InferenceErrorKind.Unavailable, third.Kind);
    }

    [Fact]
    public async Task ABodyWithoutContentLengthHoldsItsSizeRoundedUpOnce()
    {
        using var budget = new RequestBodyBudget(64L * 1024 * 1024, TimeSpan.Zero, TimeProvider.System);

        using (var body = await RequestBody.ReadAsync(Request(BodyBytes, declare: false), BodyBytes, budget, CancellationToken.None))
        {
            Assert.Equal(BodyBytes, body.Length);
            Assert.InRange(budget.ReservedBytes, BodyBytes, 2L * BodyUnits * Unit);
            Assert.Equal(0, budget.ReservedBytes % Unit);
        }
        Assert.Equal(0, budget.ReservedBytes);
    }

    private static byte[] Body(int bytes)
    {
        var body = new byte[bytes];
        for (var i = 0; i < bytes; i++)
        {
            body[i] = (byte)(i * 7);
        }
        return body;
    }

    private static HttpRequest Request(int bytes, bool declare = true)
    {
        var context = new DefaultHttpContext();
        // A buffer large enough that each read returns what the stream gives, Read bytes at a time.
        var reader = PipeReader.Create(new ChunkedStream(Body(bytes), Read), new StreamPipeReaderOptions(bufferSize: 1024 * 1024));
        context.Features.Set<IRequestBodyPipeFeature>(new BodyPipe(reader));
        context.Request.ContentLength = declare ? bytes : null;
        return context.Request;
    }

    private sealed class BodyPipe(PipeReader reader) : IRequestBodyPipeFeature
    {
        public PipeReader Reader => reader;
    }

    // A stream that gives at most `chunk` bytes per read, as a client's bytes arrive in pieces.
    private sealed class ChunkedStream(byte[] data, int chunk) : MemoryStream(data)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, chunk));

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, chunk)]);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, chunk)], cancellationToken);
    }
}
