using System.Buffers;
using System.IO.Compression;
using System.IO.Pipelines;
using InferenceServer.Grpc;
using static InferenceServer.UnitTests.Grpc.Frames;

namespace InferenceServer.UnitTests.Grpc;

public sealed class GrpcMessageWriterTests
{
    private static async Task<byte[]> WrittenAsync(Pipe pipe)
    {
        await pipe.Writer.CompleteAsync();
        var result = await pipe.Reader.ReadAsync();
        var bytes = result.Buffer.ToArray();
        pipe.Reader.AdvanceTo(result.Buffer.End);
        return bytes;
    }

    [Fact]
    public async Task Messages_are_framed_with_a_big_endian_length()
    {
        var pipe = new Pipe();
        var writer = new GrpcMessageWriter(pipe.Writer, int.MaxValue, null, CancellationToken.None);
        writer.WriteMessage([1, 2, 3]);
        writer.WriteMessage([]);
        writer.WriteMessage(new ReadOnlySequence<byte>(Bytes(300)));
        await writer.FlushAsync();
        Assert.Equal(3, writer.MessagesWritten);
        Assert.Equal(Concat(Frame([1, 2, 3]), Frame([]), Frame(Bytes(300))), await WrittenAsync(pipe));
    }

    [Fact]
    public async Task A_sized_message_is_written_straight_into_the_pipe()
    {
        var pipe = new Pipe();
        var writer = new GrpcMessageWriter(pipe.Writer, int.MaxValue, null, CancellationToken.None);
        var body = writer.BeginMessage(4);
        body.GetSpan(2)[..2].Fill(7);
        body.Advance(2);
        body.GetSpan(2)[..2].Fill(8);
        body.Advance(2);
        writer.EndMessage();
        await writer.FlushAsync();
        Assert.Equal(Frame([7, 7, 8, 8]), await WrittenAsync(pipe));
    }

    [Fact]
    public void Writing_past_or_short_of_the_declared_length_throws()
    {
        var writer = new GrpcMessageWriter(new Pipe().Writer, int.MaxValue, null, CancellationToken.None);
        var body = writer.BeginMessage(2);
        body.GetSpan(3);
        Assert.Throws<InvalidOperationException>(() => body.Advance(3));
        body.Advance(1);
        Assert.Throws<InvalidOperationException>(writer.EndMessage);
        Assert.True(writer.InMessage);
    }

    [Fact]
    public void A_message_over_the_send_limit_is_resource_exhausted_before_anything_is_written()
    {
        var pipe = new Pipe();
        var writer = new GrpcMessageWriter(pipe.Writer, 10, null, CancellationToken.None);
        var error = Assert.Throws<GrpcStatusException>(() => writer.WriteMessage(new byte[11]));
        Assert.Equal(GrpcStatusCode.ResourceExhausted, error.StatusCode);
        Assert.False(writer.InMessage);
        Assert.Equal(0, pipe.Writer.UnflushedBytes);
        writer.WriteMessage(new byte[10]);
    }

    [Fact]
    public async Task Compressed_messages_carry_the_flag_and_inflate_back()
    {
        var pipe = new Pipe();
        var writer = new GrpcMessageWriter(pipe.Writer, int.MaxValue, CompressionLevel.Fastest, CancellationToken.None);
        var data = new byte[5000];
        writer.WriteMessage(data);
        writer.WriteMessage([]);
        await writer.FlushAsync();
        writer.ReturnBuffers();
        var written = await WrittenAsync(pipe);
        Assert.Equal(1, written[0]);
        var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(written.AsSpan(1));
        Assert.True(length < data.Length);
        Assert.Equal(data, Gunzip(written[5..(5 + length)]));
        var second = written[(5 + length)..];
        Assert.Equal(1, second[0]);
        Assert.Empty(Gunzip(second[5..]));
    }

    [Fact]
    public async Task What_the_writer_frames_the_reader_reads()
    {
        // A message is consumed only once whole, so a pipe that pauses on unconsumed bytes would deadlock on a
        // large one; Kestrel's request pipe is bounded by HTTP/2 flow control instead (see the functional tests).
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        var writer = new GrpcMessageWriter(pipe.Writer, int.MaxValue, CompressionLevel.Fastest, CancellationToken.None);
        var reader = new GrpcMessageReader(pipe.Reader, 1 << 20, "gzip", CancellationToken.None);
        var read = reader.MoveNextAsync().AsTask();
        writer.WriteMessage(Bytes(70_000));
        await writer.FlushAsync();
        await pipe.Writer.CompleteAsync();
        Assert.True(await read);
        Assert.Equal(Bytes(70_000), reader.Current.ToArray());
        Assert.False(await reader.MoveNextAsync());
        writer.ReturnBuffers();
    }
}
