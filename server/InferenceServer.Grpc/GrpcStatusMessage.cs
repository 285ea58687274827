using System.Text;

namespace InferenceServer.Grpc;

/// <summary>
/// The percent-encoding of <c>grpc-message</c>: the text as UTF-8, with every byte outside space..'~' and '%' itself
/// written as <c>%XX</c> (upper-case hex); decoding never fails, leaving a broken escape as it is.
/// </summary>
public static class GrpcStatusMessage
{
    /// <summary>Percent-encodes <paramref name="message"/> for <c>grpc-message</c>.</summary>
    public static string Encode(string message)
    {
        var plain = true;
        foreach (var c in message)
        {
            if (!IsUnreserved(c))
            {
                plain = false;
                break;
            }
        }
        if (plain)
        {
            return message;
        }
        var utf8 = Encoding.UTF8.GetBytes(message);
        var builder = new StringBuilder(utf8.Length * 3);
        foreach (var b in utf8)
        {
            if (IsUnreserved((char)b))
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append('%').Append(HexDigit(b >> 4)).Append(HexDigit(b & 0xF));
            }
        }
        return builder.ToString();
    }

    /// <summary>Decodes a <c>grpc-message</c> value; invalid escapes stay as sent, invalid UTF-8 becomes U+FFFD.</summary>
    public static string Decode(string value)
    {
        if (!value.Contains('%'))
        {
            return value;
        }
        var bytes = new List<byte>(value.Length);
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '%' && i + 2 < value.Length && TryHex(value[i + 1], out var high) && TryHex(value[i + 2], out var low))
            {
                bytes.Add((byte)((high << 4) | low));
                i += 2;
            }
            else if (c < 0x80)
            {
                bytes.Add((byte)c);
            }
            else
            {
                var count = new Rune(char.IsSurrogate(c) ? '\uFFFD' : c).EncodeToUtf8(utf8);
                for (var k = 0; k < count; k++)
                {
                    bytes.Add(utf8[k]);
                }
            }
        }
        return Encoding.UTF8.GetString([.. bytes]);
    }

    private static bool IsUnreserved(char c) => c is >= ' ' and <= '~' and not '%';

    private static char HexDigit(int value) => (char)(value < 10 ? '0' + value : 'A' + value - 10);

    private static bool TryHex(char c, out int value)
    {
        value = c switch
        {
            >= '0' and <= '9' => c - '0',
            >= 'A' and <= 'F' => c - 'A' + 10,
            >= 'a' and <= 'f' => c - 'a' + 10,
            _ => -1,
        };
        return value >= 0;
    }
}
