namespace InferenceServer.FunctionalTests.Hardening;

/// <summary>Format-blind mutations of a byte string: what a flaky network, a buggy client or an attacker sends.</summary>
internal static class ByteMutator
{
    // Bytes that mean something to JSON, protobuf, UTF-8 or C strings.
    private static readonly byte[] Interesting = [0x00, 0x01, 0x7F, 0x80, 0xC0, 0xC3, 0xED, 0xF4, 0xFE, 0xFF, (byte)'"', (byte)'\\', (byte)'{', (byte)'}', (byte)'[', (byte)']', (byte)',', (byte)':', (byte)'-', (byte)'e', (byte)'9'];

    public static readonly string[] Names = ["bit flip", "interesting byte", "truncate", "insert random bytes", "delete a chunk", "repeat a chunk", "swap two bytes"];

    /// <summary>Applies mutation <paramref name="kind"/> (an index into <see cref="Names"/>) and returns the result.</summary>
    public static byte[] Mutate(byte[] input, Random random, int kind)
    {
        if (input.Length == 0)
        {
            return [(byte)random.Next(256)];
        }
        var bytes = new List<byte>(input);
        var at = random.Next(bytes.Count);
        switch (kind)
        {
            case 0:
                for (var flips = random.Next(1, 4); flips > 0; flips--)
                {
                    var i = random.Next(bytes.Count);
                    bytes[i] ^= (byte)(1 << random.Next(8));
                }
                break;
            case 1:
                bytes[at] = Interesting[random.Next(Interesting.Length)];
                break;
            case 2:
                bytes.RemoveRange(at, bytes.Count - at);
                break;
            case 3:
                var noise = new byte[random.Next(1, 16)];
                random.NextBytes(noise);
                bytes.InsertRange(at, noise);
                break;
            case 4:
                bytes.RemoveRange(at, Math.Min(bytes.Count - at, random.Next(1, 64)));
                break;
            case 5:
                var chunk = bytes.GetRange(at, Math.Min(bytes.Count - at, random.Next(1, 64)));
                for (var copies = random.Next(1, 8); copies > 0; copies--)
                {
                    bytes.InsertRange(at, chunk);
                }
                break;
            default:
                var other = random.Next(bytes.Count);
                (bytes[at], bytes[other]) = (bytes[other], bytes[at]);
                break;
        }
        return [.. bytes];
    }

    /// <summary>One mutation of a random kind.</summary>
    public static byte[] MutateAny(byte[] input, Random random) => Mutate(input, random, random.Next(Names.Length));
}
