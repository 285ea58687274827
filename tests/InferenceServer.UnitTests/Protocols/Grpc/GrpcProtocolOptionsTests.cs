using InferenceServer.Protocols.Grpc;

namespace InferenceServer.UnitTests.Protocols.Grpc;

public sealed class GrpcProtocolOptionsTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("gzip")]
    [InlineData("deflate")]
    public void Gzip_deflate_or_nothing_compresses_responses(string? compression) =>
        new GrpcProtocolOptions { ResponseCompression = compression }.Validate();

    [Fact]
    public void Another_response_compression_is_a_startup_error_naming_the_setting_and_the_choices()
    {
        var error = Assert.Throws<ArgumentException>(() => new GrpcProtocolOptions { ResponseCompression = "br" }.Validate());

        Assert.Equal("Grpc:ResponseCompression 'br' is not supported; use gzip or deflate, or leave it empty", error.Message);
    }

    [Fact]
    public void Message_limits_must_be_positive()
    {
        Assert.Contains("Grpc:MaxReceiveMessageBytes is 0", Assert.Throws<ArgumentException>(() => new GrpcProtocolOptions { MaxReceiveMessageBytes = 0 }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("Grpc:MaxSendMessageBytes is -1", Assert.Throws<ArgumentException>(() => new GrpcProtocolOptions { MaxSendMessageBytes = -1 }.Validate()).Message, StringComparison.Ordinal);
    }
}
