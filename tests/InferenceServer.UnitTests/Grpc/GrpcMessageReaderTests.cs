using System.Buffers;
using System.IO.Pipelines;
using InferenceServer.Grpc;
using static InferenceServer.UnitTests.Grpc.Frames;

namespace InferenceServer.UnitTests.Grpc;

public sealed class GrpcMessageReaderTests
{
    private const int Limit = 1024;

    // Feeds the body in chunks of `chunk` bytes (flushing each) and then ends it, while the reader reads.
    private static async Task<List<byte[]>> ReadAllAsync(byte[] body, int chunk, string? encoding = null, int limit = Limit)
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        var reader = new GrpcMessageReader(pipe.Reader, limit, encoding, CancellationToken.None);
        var feeding = Task.Run(async () =>
        {
            for (var offset = 0; offset < body.Length; offset += chunk)
            {
                await pipe.Writer.WriteAsync(body.AsMemory(offset, Math.Min(chunk, body.Length - offset)));
            }
            await pipe.Writer.CompleteAsync();
        });
        var messages = new List<byte[]>();
        try
        {
            while (await reader.MoveNextAsync())
            {
                messages.Add(reader.Current.ToArray());
            }
        }
        finally
        {
            reader.Release();
            await feeding;
        }
        return messages;
    }

    private static async Task<GrpcStatusException> RejectedAsync(byte[] body, int chunk = int.MaxValue, string? encoding = null, int limit = Limit) =>
        await Assert.ThrowsAsync<GrpcStatusException>(() => ReadAllAsync(body, chunk, encoding, limit));

    [Fact]
    public async Task Messages_split_byte_by_byte_are_reassembled()
    {
        var a = Bytes(300, 1);
        var b = Bytes(7, 2);
        var messages = await ReadAllAsync(Concat(Frame(a), Frame(b)), chunk: 1);
        Assert.Equal(2, messages.Count);
        Assert.Equal(a, messages[0]);
        Assert.Equal(b, messages[1]);
    }

    [Fact]
    public async Task Several_messages_in_one_read_come_out_one_by_one()
    {
        var body = Concat(Frame([1]), Frame([2, 2]), Frame([3, 3, 3]));
        var messages = await ReadAllAsync(body, chunk: body.Length);
        Assert.Equal([[1], [2, 2], [3, 3, 3]], messages);
    }

    [Fact]
    public async Task Frames_straddling_reads_at_odd_offsets_are_reassembled()
    {
        var body = Concat(Frame(Bytes(100, 3)), Frame([]), Frame(Bytes(50, 4)));
        var messages = await ReadAllAsync(body, chunk: 7);
        Assert.Equal(3, messages.Count);
        Assert.Equal(Bytes(100, 3), messages[0]);
        Assert.Empty(messages[1]);
        Assert.Equal(Bytes(50, 4), messages[2]);
    }

    [Fact]
    public async Task Zero_length_messages_are_messages()
    {
        var messages = await ReadAllAsync(Concat(Frame([]), Frame([])), chunk: 1);
        Assert.Equal(2, messages.Count);
        Assert.All(messages, m => Assert.Empty(m));
    }

    [Fact]
    public async Task An_empty_stream_has_no_messages()
    {
        Assert.Empty(await ReadAllAsync([], chunk: 1));
    }

    [Fact]
    public async Task A_message_at_the_limit_is_accepted()
    {
        var messages = await ReadAllAsync(Frame(Bytes(Limit)), chunk: 100);
        Assert.Equal(Bytes(Limit), Assert.Single(messages));
    }

    [Fact]
    public async Task A_message_over_the_limit_is_refused_from_its_prefix_alone()
    {
        // Only the prefix is ever sent: the reader must not wait for (or buffer) the body to refuse it.
        var prefix = Frame(Bytes(Limit + 1))[..5];
        var pipe = new Pipe();
        var reader = new GrpcMessageReader(pipe.Reader, Limit, null, CancellationToken.None);
        await pipe.Writer.WriteAsync(prefix);
        var error = await Assert.ThrowsAsync<GrpcStatusException>(async () => await reader.MoveNextAsync());
        Assert.Equal(GrpcStatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains("1025", error.Message);
    }

    [Fact]
    public async Task A_stream_ending_inside_a_prefix_is_internal()
    {
        var error = await RejectedAsync(Concat(Frame([1, 2]), [0, 0, 0]));
        Assert.Equal(GrpcStatusCode.Internal, error.StatusCode);
    }

    [Fact]
    public async Task A_stream_ending_inside_a_message_is_internal()
    {
        var error = await RejectedAsync(Frame(Bytes(40))[..30], chunk: 1);
        Assert.Equal(GrpcStatusCode.Internal, error.StatusCode);
    }

    [Fact]
    public async Task A_gzip_message_is_inflated()
    {
        var data = Bytes(500);
        var messages = await ReadAllAsync(Concat(Frame(Gzip(data), flag: 1), Frame([9])), chunk: 3, encoding: "gzip");
        Assert.Equal(data, messages[0]);
        Assert.Equal([9], messages[1]);
    }

    [Fact]
    public async Task Uncompressed_messages_are_fine_on_a_gzip_call()
    {
        var messages = await ReadAllAsync(Frame([1, 2, 3]), chunk: 1, encoding: "gzip");
        Assert.Equal([1, 2, 3], Assert.Single(messages));
    }

    [Fact]
    public async Task A_compressed_flag_without_an_encoding_is_internal()
    {
        var error = await RejectedAsync(Frame(Gzip([1]), flag: 1));
        Assert.Equal(GrpcStatusCode.Internal, error.StatusCode);
        error = await RejectedAsync(Frame(Gzip([1]), flag: 1), encoding: "identity");
        Assert.Equal(GrpcStatusCode.Internal, error.StatusCode);
    }

    [Fact]
    public async Task A_compressed_flag_with_an_unsupported_encoding_is_unimplemented()
    {
        var error = await RejectedAsync(Frame([1, 2], flag: 1), encoding: "snappy");
        Assert.Equal(GrpcStatusCode.Unimplemented, error.StatusCode);
        Assert.Contains("gzip", error.Message);
    }

    [Fact]
    public async Task A_flag_other_than_0_or_1_is_internal()
    {
        var error = await RejectedAsync(Frame([1], flag: 2), encoding: "gzip");
        Assert.Equal(GrpcStatusCode.Internal, error.StatusCode);
    }

    [Fact]
    public async Task A_message_inflating_past_the_limit_is_resource_exhausted()
    {
        var bomb = Gzip(new byte[Limit * 50]);
        Assert.True(bomb.Length < Limit);
        var error = await RejectedAsync(Frame(bomb, flag: 1), encoding: "gzip");
        Assert.Equal(GrpcStatusCode.ResourceExhausted, error.StatusCode);
    }

    [Fact]
    public async Task Corrupt_gzip_is_internal()
    {
        var error = await RejectedAsync(Frame([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], flag: 1), encoding: "gzip");
        Assert.Equal(GrpcStatusCode.Internal, error.StatusCode);
    }

    [Fact]
    public async Task A_unary_read_waits_for_the_end_of_stream()
    {
        var pipe = new Pipe();
        var reader = new GrpcMessageReader(pipe.Reader, Limit, null, CancellationToken.None);
        await pipe.Writer.WriteAsync(Frame([4, 5]));
        var read = reader.ReadSingleAsync().AsTask();
        await Task.Delay(20);
        Assert.False(read.IsCompleted);
        await pipe.Writer.CompleteAsync();
        Assert.Equal([4, 5], (await read).ToArray());
        reader.Release();
    }

    [Fact]
    public async Task A_unary_call_with_two_messages_or_none_is_internal()
    {
        foreach (var body in new[] { Concat(Frame([1]), Frame([2])), Array.Empty<byte>() })
        {
            var pipe = new Pipe();
            var reader = new GrpcMessageReader(pipe.Reader, Limit, null, CancellationToken.None);
            await pipe.Writer.WriteAsync(body);
            await pipe.Writer.CompleteAsync();
            var error = await Assert.ThrowsAsync<GrpcStatusException>(async () => await reader.ReadSingleAsync());
            Assert.Equal(GrpcStatusCode.Internal, error.StatusCode);
        }
    }

    [Fact]
    public async Task Cancellation_stops_a_waiting_read()
    {
        using var cancellation = new CancellationTokenSource();
        var pipe = new Pipe();
        var reader = new GrpcMessageReader(pipe.Reader, Limit, null, cancellation.Token);
        var read = reader.MoveNextAsync().AsTask();
        cancellation.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read);
    }
}
