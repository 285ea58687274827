using System.Buffers;

namespace InferenceServer.UnitTests.Features.Sidecar;

/// <summary>Bytes as a sequence of several segments, cut where the test says: what a pipe hands a reader.</summary>
internal static class SegmentedSequence
{
    /// <summary><paramref name="bytes"/> cut before each offset in <paramref name="cuts"/> (ascending).</summary>
    public static ReadOnlySequence<byte> Of(byte[] bytes, params int[] cuts)
    {
        if (cuts.Length == 0)
        {
            return new ReadOnlySequence<byte>(bytes);
        }
        var start = 0;
        Segment? first = null;
        Segment? last = null;
        foreach (var cut in cuts.Append(bytes.Length))
        {
            // Each segment its own array, so a value that straddles a cut really is in two places.
            var segment = new Segment(bytes.AsSpan(start, cut - start).ToArray(), last);
            first ??= segment;
            last = segment;
            start = cut;
        }
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] bytes, Segment? previous)
        {
            Memory = bytes;
            if (previous is not null)
            {
                RunningIndex = previous.RunningIndex + previous.Memory.Length;
                previous.Next = this;
            }
        }
    }
}
