using InferenceServer.Grpc;

namespace InferenceServer.UnitTests.Grpc;

public sealed class GrpcStatusMessageTests
{
    [Theory]
    [InlineData("plain text, with: punctuation!~", "plain text, with: punctuation!~")]
    [InlineData("50% done", "50%25 done")]
    [InlineData("line\nbreak\ttab", "line%0Abreak%09tab")]
    [InlineData("caf\u00e9", "caf%C3%A9")]
    [InlineData("\u6f22", "%E6%BC%A2")]
    [InlineData("\U0001F600", "%F0%9F%98%80")]
    [InlineData("", "")]
    public void Encodes_exactly_as_the_spec_says(string message, string encoded)
    {
        Assert.Equal(encoded, GrpcStatusMessage.Encode(message));
        Assert.Equal(message, GrpcStatusMessage.Decode(encoded));
    }

    [Fact]
    public void Every_byte_outside_space_to_tilde_is_escaped()
    {
        for (var c = 0; c < 0x80; c++)
        {
            var encoded = GrpcStatusMessage.Encode(((char)c).ToString());
            var plain = c >= 0x20 && c <= 0x7E && c != '%';
            Assert.Equal(plain ? ((char)c).ToString() : $"%{c:X2}", encoded);
        }
    }

    [Theory]
    [InlineData("%", "%")]
    [InlineData("100%", "100%")]
    [InlineData("%zz ok", "%zz ok")]
    [InlineData("%4", "%4")]
    [InlineData("%41%4a", "AJ")]
    [InlineData("bad %FF utf8", "bad \uFFFD utf8")]
    public void Decoding_never_fails(string value, string decoded)
    {
        Assert.Equal(decoded, GrpcStatusMessage.Decode(value));
    }
}
