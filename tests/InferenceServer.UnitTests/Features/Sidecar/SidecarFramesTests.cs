using System.Buffers;
using System.Buffers.Binary;
using InferenceServer.Core.Features.Sidecar;

namespace InferenceServer.UnitTests.Features.Sidecar;

/// <summary>The length-prefixed framing of the feature sidecar's socket, including frames split across a pipe's segments.</summary>
public sealed class SidecarFramesTests
{
    private static byte[] Framed(params byte[][] bodies)
    {
        var output = new ArrayBufferWriter<byte>();
        foreach (var body in bodies)
        {
            SidecarFrames.WriteFrame(output, body);
        }
        return output.WrittenSpan.ToArray();
    }

    [Fact]
    public void AWrittenFrameIsItsBigEndianLengthThenItsBody()
    {
        var bytes = Framed([1, 2, 3]);

        Assert.Equal(new byte[] { 0, 0, 0, 3, 1, 2, 3 }, bytes);
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.True(SidecarFrames.TryReadFrame(ref buffer, out var body));
        Assert.Equal(new byte[] { 1, 2, 3 }, body.ToArray());
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void FramesInOneBufferComeOffInOrderAndAnEmptyBodyIsAFrame()
    {
        var buffer = new ReadOnlySequence<byte>(Framed([10], [], [20, 21]));

        Assert.True(SidecarFrames.TryReadFrame(ref buffer, out var first));
        Assert.True(SidecarFrames.TryReadFrame(ref buffer, out var empty));
        Assert.True(SidecarFrames.TryReadFrame(ref buffer, out var third));
        Assert.False(SidecarFrames.TryReadFrame(ref buffer, out _));
        Assert.Equal(new byte[] { 10 }, first.ToArray());
        Assert.True(empty.IsEmpty);
        Assert.Equal(new byte[] { 20, 21 }, third.ToArray());
    }

    [Fact]
    public void AFrameCutAnywhereAcrossSegmentsReadsTheSame()
    {
        var bytes = Framed([1, 2, 3, 4, 5], [6]);
        for (var a = 1; a < bytes.Length; a++)
        {
            for (var b = a + 1; b < bytes.Length; b++)
            {
                var buffer = SegmentedSequence.Of(bytes, a, b);
                Assert.True(SidecarFrames.TryReadFrame(ref buffer, out var body), $"cut at {a} and {b}");
                Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, body.ToArray());
                Assert.True(SidecarFrames.TryReadFrame(ref buffer, out body));
                Assert.Equal(new byte[] { 6 }, body.ToArray());
            }
        }
    }

    [Fact]
    public void AnIncompleteFrameWaitsWithTheBufferUntouched()
    {
        var bytes = Framed([1, 2, 3]);
        for (var length = 0; length < bytes.Length; length++)
        {
            var buffer = new ReadOnlySequence<byte>(bytes, 0, length);

            Assert.False(SidecarFrames.TryReadFrame(ref buffer, out _));
            Assert.Equal(length, buffer.Length);
        }
    }

    [Fact]
    public void ALengthUpToTheMaximumWaitsForItsBody()
    {
        var header = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(header, SidecarFrames.MaxBodyBytes);
        var buffer = new ReadOnlySequence<byte>(header);

        Assert.False(SidecarFrames.TryReadFrame(ref buffer, out _));
    }

    [Theory]
    [InlineData((uint)SidecarFrames.MaxBodyBytes + 1)]
    [InlineData(uint.MaxValue)]
    public void ALengthOverTheMaximumIsAProtocolError(uint length)
    {
        var header = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(header, length);

        var error = Assert.Throws<SidecarProtocolException>(() =>
        {
            var buffer = new ReadOnlySequence<byte>(header);
            SidecarFrames.TryReadFrame(ref buffer, out _);
        });
        Assert.Contains($"{length} bytes", error.Message);
        Assert.Contains($"at most {SidecarFrames.MaxBodyBytes}", error.Message);
    }

    [Fact]
    public void ABodyOverTheMaximumIsNotWritten()
    {
        var output = new ArrayBufferWriter<byte>();

        Assert.Throws<SidecarProtocolException>(() => SidecarFrames.WriteFrame(output, new byte[SidecarFrames.MaxBodyBytes + 1]));
        Assert.Equal(0, output.WrittenCount);
    }
}
