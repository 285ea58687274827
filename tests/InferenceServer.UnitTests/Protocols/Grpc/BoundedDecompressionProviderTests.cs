using System.IO.Compression;
using Grpc.Core;
using Grpc.Net.Compression;
using InferenceServer.Protocols.Buffers;
using InferenceServer.Protocols.Grpc;

namespace InferenceServer.UnitTests.Protocols.Grpc;

/// <summary>gzip and deflate request messages inflate no further than the receive limit and the server's body budget.</summary>
public sealed class BoundedDecompressionProviderTests
{
    public static TheoryData<string> Encodings => new(["gzip", "deflate"]);

    private static ICompressionProvider Library(string encoding) => encoding == "gzip"
        ? new GzipCompressionProvider(CompressionLevel.Fastest)
        : new DeflateCompressionProvider(CompressionLevel.Fastest);

    private static BoundedDecompressionProvider Bounded(string encoding, int maxBytes, RequestBodyBudget? budget = null) =>
        new(Library(encoding), maxBytes, budget ?? new RequestBodyBudget(1L << 40, TimeSpan.Zero, TimeProvider.System));

    private static byte[] Compress(ICompressionProvider provider, byte[] data)
    {
        using var output = new MemoryStream();
        using (var stream = provider.CreateCompressionStream(output, CompressionLevel.Optimal))
        {
            stream.Write(data);
        }
        return output.ToArray();
    }

    // Inflates as Grpc.AspNetCore does: the whole decompression stream copied into memory.
    private static (byte[] Output, Exception? Error) Inflate(ICompressionProvider provider, byte[] compressed)
    {
        using var output = new MemoryStream();
        try
        {
            using var stream = provider.CreateDecompressionStream(new MemoryStream(compressed));
            stream.CopyTo(output);
            return (output.ToArray(), null);
        }
        catch (Exception e)
        {
            return (output.ToArray(), e);
        }
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void A_message_within_the_limit_inflates_exactly(string encoding)
    {
        var data = new byte[5000];
        new Random(3).NextBytes(data.AsSpan(0, 2500));
        var provider = Bounded(encoding, maxBytes: 5000);

        var (output, error) = Inflate(provider, Compress(Library(encoding), data));

        Assert.Null(error);
        Assert.Equal(data, output);
        Assert.Equal(encoding, provider.EncodingName);
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void A_message_that_inflates_past_the_limit_is_resource_exhausted_and_inflating_stops_there(string encoding)
    {
        // 64 MB of zeros compress to a few tens of kilobytes.
        var bomb = Compress(Library(encoding), new byte[64 * 1024 * 1024]);
        var provider = Bounded(encoding, maxBytes: 1024);

        var (output, error) = Inflate(provider, bomb);

        var status = Assert.IsType<RpcException>(error);
        Assert.Equal(StatusCode.ResourceExhausted, status.StatusCode);
        Assert.Equal("Request message decompresses to more than the limit of 1024 bytes.", status.Status.Detail);
        Assert.True(output.Length <= 1024, $"{output.Length} bytes came out before the limit was enforced");
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Data_that_is_not_in_the_encoding_is_internal_naming_the_encoding(string encoding)
    {
        var provider = Bounded(encoding, maxBytes: 1024);

        var (_, error) = Inflate(provider, "this is not compressed at all, not even a little"u8.ToArray());

        var status = Assert.IsType<RpcException>(error);
        Assert.Equal(StatusCode.Internal, status.StatusCode);
        Assert.StartsWith($"A request message is not valid {encoding} data", status.Status.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Responses_are_compressed_as_the_library_does(string encoding)
    {
        var data = "compress me, compress me, compress me"u8.ToArray();
        var provider = Bounded(encoding, maxBytes: 1024);

        Assert.Equal(data, Inflate(Library(encoding), Compress(provider, data)).Output);
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void A_message_that_inflates_past_the_room_left_in_the_body_budget_is_resource_exhausted_and_gives_the_room_back(string encoding)
    {
        using var budget = new RequestBodyBudget(4 * 1024 * 1024, TimeSpan.Zero, TimeProvider.System);
        var provider = Bounded(encoding, maxBytes: 64 * 1024 * 1024, budget);

        var (output, error) = Inflate(provider, Compress(Library(encoding), new byte[16 * 1024 * 1024]));

        var status = Assert.IsType<RpcException>(error);
        Assert.Equal(StatusCode.ResourceExhausted, status.StatusCode);
        Assert.Contains("Server:MaxRequestBodyBytesInFlight", status.Status.Detail, StringComparison.Ordinal);
        Assert.True(output.Length <= 4 * 1024 * 1024, $"{output.Length} bytes came out past the budget");
        Assert.Equal(0, budget.ReservedBytes);
    }
}
