using InferenceServer.Grpc;

namespace InferenceServer.UnitTests.Grpc;

public sealed class GrpcStatusTests
{
    [Fact]
    public void The_seventeen_codes_have_the_protocol_numbers()
    {
        var expected = new (GrpcStatusCode Code, int Number)[]
        {
            (GrpcStatusCode.Ok, 0), (GrpcStatusCode.Cancelled, 1), (GrpcStatusCode.Unknown, 2), (GrpcStatusCode.InvalidArgument, 3),
            (GrpcStatusCode.DeadlineExceeded, 4), (GrpcStatusCode.NotFound, 5), (GrpcStatusCode.AlreadyExists, 6),
            (GrpcStatusCode.PermissionDenied, 7), (GrpcStatusCode.ResourceExhausted, 8), (GrpcStatusCode.FailedPrecondition, 9),
            (GrpcStatusCode.Aborted, 10), (GrpcStatusCode.OutOfRange, 11), (GrpcStatusCode.Unimplemented, 12),
            (GrpcStatusCode.Internal, 13), (GrpcStatusCode.Unavailable, 14), (GrpcStatusCode.DataLoss, 15), (GrpcStatusCode.Unauthenticated, 16),
        };
        Assert.Equal(17, Enum.GetValues<GrpcStatusCode>().Length);
        foreach (var (code, number) in expected)
        {
            Assert.Equal(number, (int)code);
            Assert.Equal(number.ToString(System.Globalization.CultureInfo.InvariantCulture), GrpcDispatcher.StatusString(code));
        }
    }

    [Fact]
    public void The_exception_carries_code_and_message()
    {
        var error = new GrpcStatusException(GrpcStatusCode.NotFound, "model 'x' not found");
        Assert.Equal(GrpcStatusCode.NotFound, error.StatusCode);
        Assert.Equal("model 'x' not found", error.Message);
    }

    [Theory]
    [InlineData("application/grpc", true)]
    [InlineData("application/grpc+proto", true)]
    [InlineData("Application/GRPC+json", true)]
    [InlineData("application/grpc;x=y", true)]
    [InlineData("application/grpc-web", false)]
    [InlineData("application/grpc-web+proto", false)]
    [InlineData("application/json", false)]
    [InlineData(null, false)]
    public void Only_grpc_content_types_are_grpc(string? contentType, bool grpc)
    {
        Assert.Equal(grpc, GrpcDispatcher.IsGrpc(contentType));
    }

    [Fact]
    public void Accept_encoding_lists_are_split_on_commas()
    {
        Assert.True(GrpcCompression.Accepts("identity, gzip", "gzip"));
        Assert.True(GrpcCompression.Accepts("gzip", "gzip"));
        Assert.False(GrpcCompression.Accepts("identity,deflate", "gzip"));
        Assert.False(GrpcCompression.Accepts(null, "gzip"));
    }
}
