using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Pipelines;
using Grpc.Core;
using InferenceServer.Protocols.Buffers;
using InferenceServer.Protocols.Grpc;

namespace InferenceServer.UnitTests.Protocols.Grpc;

/// <summary>
/// The gRPC request body as the library reads it: messages hold room in the body budget until read, and compressed
/// ones arrive inflated (and uncompressed-flagged), within the receive limit.
/// </summary>
public sealed class BudgetedMessageReaderTests
{
    public static TheoryData<string> Encodings => new(["gzip", "deflate"]);

    private static byte[] Frame(byte[] payload, bool compressed)
    {
        var frame = new byte[5 + payload.Length];
        frame[0] = compressed ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame, 5);
        return frame;
    }

    private static byte[] Compress(string encoding, byte[] data)
    {
        using var output = new MemoryStream();
        using (Stream stream = encoding == "gzip" ? new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true) : new ZLibStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            stream.Write(data);
        }
        return output.ToArray();
    }

    private static PipeReader Body(params byte[][] frames)
    {
        var pipe = new Pipe();
        foreach (var frame in frames)
        {
            pipe.Writer.Write(frame);
        }
        pipe.Writer.Complete();
        return pipe.Reader;
    }

    private static RequestBodyBudget Budget(long bytes = 1L << 30) => new(bytes, TimeSpan.Zero, TimeProvider.System);

    [Theory]
    [MemberData(nameof(Encodings))]
    public async Task A_compressed_message_arrives_inflated_and_flagged_uncompressed(string encoding)
    {
        var data = new byte[100_000];
        new Random(7).NextBytes(data.AsSpan(0, 50_000));
        using var budget = Budget();
        var reader = new BudgetedMessageReader(Body(Frame(Compress(encoding, data), compressed: true)), budget, 1 << 20, encoding);

        var result = await reader.ReadAsync();

        Assert.True(result.IsCompleted);
        Assert.Equal(Frame(data, compressed: false), result.Buffer.ToArray());
        Assert.True(budget.ReservedBytes >= data.Length);
        reader.AdvanceTo(result.Buffer.End);
        Assert.Equal(0, budget.ReservedBytes);
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public async Task A_message_that_inflates_past_the_limit_is_resource_exhausted_and_holds_nothing(string encoding)
    {
        using var budget = Budget();
        // 64 MiB of zeros in some 64 KB: within the 1 MiB limit compressed, far past it inflated.
        var reader = new BudgetedMessageReader(Body(Frame(Compress(encoding, new byte[64 * 1024 * 1024]), compressed: true)), budget, 1024 * 1024, encoding);

        var error = await Assert.ThrowsAsync<RpcException>(async () => await reader.ReadAsync());

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Equal("Request message decompresses to more than the limit of 1048576 bytes.", error.Status.Detail);
        reader.Dispose();
        Assert.Equal(0, budget.ReservedBytes);
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public async Task A_message_that_inflates_past_the_room_in_the_budget_is_resource_exhausted(string encoding)
    {
        using var budget = Budget(4 * 1024 * 1024);
        var reader = new BudgetedMessageReader(Body(Frame(Compress(encoding, new byte[16 * 1024 * 1024]), compressed: true)), budget, 64 * 1024 * 1024, encoding);

        var error = await Assert.ThrowsAsync<RpcException>(async () => await reader.ReadAsync());

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains("Server:MaxRequestBodyBytesInFlight", error.Status.Detail, StringComparison.Ordinal);
        reader.Dispose();
        Assert.Equal(0, budget.ReservedBytes);
    }

    [Fact]
    public async Task A_length_past_the_receive_limit_is_refused_naming_the_limit_even_past_2_pow_31()
    {
        using var budget = Budget();
        byte[] frame = [0, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3];
        var reader = new BudgetedMessageReader(Body(frame), budget, 1024, null);

        var error = await Assert.ThrowsAsync<RpcException>(async () => await reader.ReadAsync());

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Equal(GrpcMessageLimits.ReceiveLimitExceeded(1024), error.Status.Detail);
    }

    [Fact]
    public async Task A_compressed_flag_other_than_0_or_1_is_an_invalid_argument()
    {
        using var budget = Budget();
        var frame = Frame("abc"u8.ToArray(), compressed: false);
        frame[0] = 2;
        var reader = new BudgetedMessageReader(Body(frame), budget, 1024, "gzip");

        var error = await Assert.ThrowsAsync<RpcException>(async () => await reader.ReadAsync());

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("compressed flag is 2", error.Status.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public async Task Data_that_is_not_in_the_encoding_is_an_invalid_argument_naming_the_encoding(string encoding)
    {
        using var budget = Budget();
        var reader = new BudgetedMessageReader(Body(Frame("not compressed at all, not even a little"u8.ToArray(), compressed: true)), budget, 1024, encoding);

        var error = await Assert.ThrowsAsync<RpcException>(async () => await reader.ReadAsync());

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.StartsWith($"A request message is not valid {encoding} data", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_plain_message_holds_its_room_until_it_is_read()
    {
        using var budget = Budget();
        var reader = new BudgetedMessageReader(Body(Frame(new byte[10_000], compressed: false), Frame(new byte[20_000], compressed: false)), budget, 1 << 20, null);

        var result = await reader.ReadAsync();
        Assert.InRange(budget.ReservedBytes, 10_000, 11 * 1024);
        reader.AdvanceTo(result.Buffer.GetPosition(10_005), result.Buffer.End);
        Assert.Equal(0, budget.ReservedBytes);

        result = await reader.ReadAsync();
        Assert.InRange(budget.ReservedBytes, 20_000, 21 * 1024);
        reader.AdvanceTo(result.Buffer.End);
        Assert.Equal(0, budget.ReservedBytes);
    }

    [Fact]
    public async Task A_message_that_finds_no_room_is_resource_exhausted()
    {
        using var budget = Budget(8 * 1024);
        using var held = budget.TryReserve(4 * 1024);
        var reader = new BudgetedMessageReader(Body(Frame(new byte[6 * 1024], compressed: false)), budget, 1 << 20, null);

        var error = await Assert.ThrowsAsync<RpcException>(async () => await reader.ReadAsync());

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Equal(4 * 1024, budget.ReservedBytes);
    }
}
