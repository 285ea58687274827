using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Google.Protobuf;

namespace InferenceServer.FunctionalTests.Hardening;

/// <summary>
/// Raw HTTP/2 on the gRPC port (prior knowledge, no TLS): a valid ModelInfer stream, then abused — rapid reset,
/// CONTINUATION floods, frames on the wrong stream, lying lengths, bad SETTINGS and WINDOW_UPDATE values, HPACK
/// garbage, pseudo-header abuse, bad gRPC framing, and plain byte damage. The server must not answer a stream with
/// INTERNAL or UNKNOWN, and must keep serving (the batch check). Each case reads until the server says GOAWAY, ends a
/// stream, closes, or has been quiet for half a second.
/// </summary>
internal static class Http2Frames
{
    private const byte Data = 0, Headers = 1, Priority = 2, RstStream = 3, Settings = 4, PushPromise = 5, Ping = 6, GoAway = 7, WindowUpdate = 8, Continuation = 9;
    private const byte EndStream = 0x1, EndHeaders = 0x4, Padded = 0x8;

    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    public static readonly string[] Names =
    [
        "rapid reset", "wrong stream", "lying length", "bad SETTINGS", "bad WINDOW_UPDATE", "PING abuse", "CONTINUATION flood",
        "HPACK garbage", "odd frames", "byte damage", "flow control and padding", "header abuse", "gRPC framing",
    ];

    public static FuzzCase Generate(Random random, int index)
    {
        var kind = index < Names.Length * 6 ? index % Names.Length : random.Next(Names.Length);
        var frames = new List<byte[]>();
        var block = HeaderBlock(StandardHeaders());
        var message = GrpcMessage(FuzzServer.SimpleGrpc().ToByteArray());
        string what;
        switch (kind)
        {
            case 0:
                var streams = random.Next(2) == 0 ? 200 : 1000;
                for (var s = 1; s < streams * 2; s += 2)
                {
                    frames.Add(Frame(Headers, EndHeaders, s, block));
                    frames.Add(Frame(RstStream, 0, s, U32(8)));
                }
                what = $"{streams} streams opened and reset at once";
                break;
            case 1:
                int[] ids = [0, 2, 1, 1, int.MaxValue];
                var id = ids[random.Next(ids.Length)];
                frames.Add(Frame(Headers, EndHeaders, 3, block));
                frames.Add(Frame(random.Next(2) == 0 ? Headers : Data, random.Next(2) == 0 ? EndHeaders : EndStream, id, random.Next(2) == 0 ? block : message));
                what = $"a frame on stream {id} after stream 3";
                break;
            case 2:
                var frame = Frame(Headers, EndHeaders | EndStream, 1, block);
                uint[] lengths = [0, 1, 0xFFFFFF, 16385, (uint)block.Length + 10];
                var length = lengths[random.Next(lengths.Length)];
                frame[0] = (byte)(length >> 16);
                frame[1] = (byte)(length >> 8);
                frame[2] = (byte)length;
                frames.Add(frame);
                frames.Add(Frame(Data, EndStream, 1, message));
                what = $"HEADERS declaring {length} bytes";
                break;
            case 3:
                (ushort Id, uint Value)[] settings = [(2, 2), (4, 0x80000000), (5, 1), (5, 0xFFFFFFFF), (3, 0), (1, 0xFFFFFFFF), (6, 0), (0xFF, 1), (4, 0)];
                var (setting, value) = settings[random.Next(settings.Length)];
                var payload = new byte[6];
                BinaryPrimitives.WriteUInt16BigEndian(payload, setting);
                BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(2), value);
                frames.Add(random.Next(4) switch
                {
                    0 => Frame(Settings, 0, 0, payload[..5]),
                    1 => Frame(Settings, 0, 1, payload),
                    2 => Frame(Settings, 1, 0, payload),
                    _ => Frame(Settings, 0, 0, payload),
                });
                frames.Add(Frame(Headers, EndHeaders, 1, block));
                frames.Add(Frame(Data, EndStream, 1, message));
                what = $"SETTINGS {setting} = {value}";
                break;
            case 4:
                uint[] increments = [0, 0x7FFFFFFF, 0x7FFFFFFF, 1];
                var increment = increments[random.Next(increments.Length)];
                var stream = random.Next(2) == 0 ? 0 : 1;
                frames.Add(Frame(Headers, EndHeaders, 1, block));
                frames.Add(Frame(WindowUpdate, 0, stream, U32(increment)));
                frames.Add(Frame(WindowUpdate, 0, stream, U32(increment)));
                frames.Add(Frame(Data, EndStream, 1, message));
                what = $"WINDOW_UPDATE +{increment} twice on stream {stream}";
                break;
            case 5:
                var pings = random.Next(2) == 0 ? 1 : 2000;
                for (var p = 0; p < pings; p++)
                {
                    frames.Add(Frame(Ping, 0, 0, new byte[pings == 1 ? 7 : 8]));
                }
                what = pings == 1 ? "a PING of 7 bytes" : "2000 PINGs";
                break;
            case 6:
                var count = random.Next(2) == 0 ? 1 : 5000;
                frames.Add(Frame(count == 1 ? Continuation : Headers, 0, 1, block[..(block.Length / 2)]));
                for (var k = 0; k < count; k++)
                {
                    frames.Add(Frame(Continuation, 0, 1, HeaderBlock([($"x-flood-{k}", "v")])));
                }
                what = count == 1 ? "CONTINUATION without HEADERS" : "HEADERS then 5000 CONTINUATIONs, never ended";
                break;
            case 7:
                byte[][] garbage = [[0x80], [0x3F, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F], [0x00, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F], [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], [0x40, 0x05, 0x61], [0xBE], [0x20, 0x3F, 0xE1, 0x1F]];
                var bad = random.Next(3) == 0 ? RandomBytes(random, random.Next(1, 64)) : garbage[random.Next(garbage.Length)];
                frames.Add(Frame(Headers, EndHeaders, 1, random.Next(2) == 0 ? bad : [.. block, .. bad]));
                frames.Add(Frame(Data, EndStream, 1, message));
                what = $"HPACK bytes {Convert.ToHexString(bad)}";
                break;
            case 8:
                switch (random.Next(4))
                {
                    case 0:
                        frames.Add(Frame(Priority, 0, 1, [0x00, 0x00, 0x00, 0x01, 0x10]));
                        what = "PRIORITY on itself";
                        break;
                    case 1:
                        frames.Add(Frame(0xFF, 0xFF, 1, RandomBytes(random, 20)));
                        what = "an unknown frame type";
                        break;
                    case 2:
                        frames.Add(Frame(PushPromise, EndHeaders, 1, [0, 0, 0, 2, .. block]));
                        what = "PUSH_PROMISE from the client";
                        break;
                    default:
                        frames.Add(Frame(GoAway, 0, 0, [0, 0, 0, 0, 0, 0, 0, 1]));
                        what = "GOAWAY, then a stream";
                        break;
                }
                frames.Add(Frame(Headers, EndHeaders, 1, block));
                frames.Add(Frame(Data, EndStream, 1, message));
                break;
            case 9:
                frames.Add(Frame(Headers, EndHeaders, 1, block));
                frames.Add(Frame(Data, EndStream, 1, message));
                var whole = frames.SelectMany(f => f).ToArray();
                var damage = random.Next(ByteMutator.Names.Length);
                frames = [ByteMutator.Mutate(whole, random, damage)];
                what = ByteMutator.Names[damage];
                break;
            case 10:
                switch (random.Next(3))
                {
                    case 0:
                        frames.Add(Frame(Headers, EndHeaders, 1, block));
                        var big = GrpcMessage(new byte[200_000]);
                        for (var at = 0; at < big.Length; at += 16384)
                        {
                            frames.Add(Frame(Data, 0, 1, big[at..Math.Min(big.Length, at + 16384)]));
                        }
                        frames.Add(Frame(Data, EndStream, 1, []));
                        what = "200 KB of DATA past the flow-control window";
                        break;
                    case 1:
                        frames.Add(Frame(Headers, EndHeaders, 1, block));
                        frames.Add(Frame(Data, EndStream | Padded, 1, [200, .. message[..Math.Min(20, message.Length)]]));
                        what = "padding longer than the frame";
                        break;
                    default:
                        frames.Add(Frame(Headers, EndHeaders, 1, block));
                        frames.Add(Frame(Data, EndStream, 1, message));
                        frames.Add(Frame(Data, EndStream, 1, message));
                        what = "DATA after END_STREAM";
                        break;
                }
                break;
            case 11:
                var headers = StandardHeaders();
                (string, string)[][] variants =
                [
                    [.. headers.Where(h => h.Name != ":path")],
                    [.. headers, (":path", "/inference.GRPCInferenceService/ModelInfer")],
                    [.. headers, ("Content-Type", "application/grpc")],
                    [.. headers.Select(h => h.Name == "content-type" ? (h.Name, "text/plain") : h)],
                    [.. headers.Where(h => h.Name != "te")],
                    [.. headers, ("grpc-timeout", "99999999999H")],
                    [.. headers, ("grpc-timeout", "-1S")],
                    [.. headers, ("grpc-encoding", "gzip")],
                    [.. headers, ("x-bad", "a\r\nb\0")],
                    [.. headers, ("connection", "keep-alive")],
                    [.. headers.Select(h => h.Name == ":path" ? (h.Name, "/inference.GRPCInferenceService/" + new string('M', 10000)) : h)],
                    [("x-first", "regular before pseudo"), .. headers],
                    [.. headers, ("grpc-accept-encoding", "\u00e9")],
                    [.. headers.Select(h => h.Name == ":method" ? (h.Name, "GET") : h)],
                ];
                var variant = random.Next(variants.Length);
                frames.Add(Frame(Headers, EndHeaders, 1, HeaderBlock(variants[variant])));
                frames.Add(Frame(Data, EndStream, 1, variant == 7 ? [1, .. message[1..]] : message));
                what = $"header variant {variant}";
                break;
            default:
                var body = FuzzServer.SimpleGrpc().ToByteArray();
                byte[][] grpcFrames =
                [
                    [0, 0xFF, 0xFF, 0xFF, 0xFF, .. body], [0, 0, 0, 0, 5], [2, .. message[1..]], [1, 0, 0, 0, 4, 1, 2, 3, 4], [.. message, .. message],
                    [0, 0x10, 0, 0, 1], message[..3],
                ];
                var choice = random.Next(grpcFrames.Length);
                frames.Add(Frame(Headers, EndHeaders, 1, block));
                frames.Add(Frame(Data, EndStream, 1, grpcFrames[choice]));
                what = $"gRPC message framing variant {choice}";
                break;
        }
        byte[] bytes = [.. Preface, .. Frame(Settings, 0, 0, []), .. Frame(Settings, 1, 0, []), .. frames.SelectMany(f => f)];
        return new FuzzCase(index, bytes, $"HTTP/2: {Names[kind]}: {what}");
    }

    public static async Task<FuzzVerdict> SendAsync(Uri server, FuzzCase c, CancellationToken cancel)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server.Host, server.Port, cancel);
        var received = new List<byte>();
        var reading = ReadAsync(socket, received, cancel);
        try
        {
            await socket.SendAsync(c.Bytes, SocketFlags.None, cancel);
        }
        catch (SocketException)
        {
            // The server closed the connection mid-send: what it did before is still read below.
        }
        var ended = await reading;
        var text = Encoding.Latin1.GetString([.. received]);
        // Kestrel writes header values as literals (no Huffman): a failing status shows as grpc-status with "13" or "2".
        var at = text.IndexOf("grpc-message", StringComparison.Ordinal);
        var message = at >= 0 ? ": " + FuzzServer.Cut(text[(at + 13)..], 200) : "";
        if (text.Contains("grpc-status\u000213", StringComparison.Ordinal))
        {
            return new FuzzVerdict("INTERNAL", "INTERNAL", "a stream was answered INTERNAL" + message);
        }
        if (text.Contains("grpc-status\u00012", StringComparison.Ordinal))
        {
            return new FuzzVerdict("UNKNOWN", "UNKNOWN", "a stream was answered UNKNOWN" + message);
        }
        return new FuzzVerdict(ended);
    }

    // Reads what the server sends until it says GOAWAY, ends a stream, closes, or is quiet for a while (a stream the
    // abuse left open waits for frames that will not come); returns which.
    private static async Task<string> ReadAsync(Socket socket, List<byte> into, CancellationToken cancel)
    {
        var buffer = new byte[65536];
        while (true)
        {
            using var quiet = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            quiet.CancelAfter(TimeSpan.FromMilliseconds(500));
            int read;
            try
            {
                read = await socket.ReceiveAsync(buffer, SocketFlags.None, quiet.Token);
            }
            catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
            {
                return into.Count == 0 ? "quiet" : "answered, then quiet";
            }
            catch (SocketException)
            {
                return "reset";
            }
            if (read == 0)
            {
                return into.Count == 0 ? "closed silently" : "closed";
            }
            into.AddRange(buffer.AsSpan(0, read));
            if (ContainsFrame(into, GoAway))
            {
                return "GOAWAY";
            }
            if (ContainsFrame(into, Headers, EndStream))
            {
                return "stream answered";
            }
        }
    }

    private static bool ContainsFrame(List<byte> received, byte type, byte flags = 0)
    {
        var bytes = received.ToArray();
        for (var at = 0; at + 9 <= bytes.Length;)
        {
            var length = bytes[at] << 16 | bytes[at + 1] << 8 | bytes[at + 2];
            if (bytes[at + 3] == type && (bytes[at + 4] & flags) == flags && at + 9 + length <= bytes.Length)
            {
                return true;
            }
            at += 9 + length;
        }
        return false;
    }

    private static (string Name, string Value)[] StandardHeaders() =>
    [
        (":method", "POST"), (":scheme", "http"), (":path", "/inference.GRPCInferenceService/ModelInfer"), (":authority", "127.0.0.1"),
        ("content-type", "application/grpc"), ("te", "trailers"),
    ];

    // Each header as a literal without indexing, new name, no Huffman (RFC 7541 6.2.2).
    private static byte[] HeaderBlock(IEnumerable<(string Name, string Value)> headers)
    {
        var block = new List<byte>();
        foreach (var (name, value) in headers)
        {
            block.Add(0x00);
            foreach (var text in new[] { name, value })
            {
                var bytes = Encoding.UTF8.GetBytes(text);
                Integer(block, bytes.Length, 7, 0x00);
                block.AddRange(bytes);
            }
        }
        return [.. block];
    }

    private static void Integer(List<byte> into, int value, int prefixBits, byte flags)
    {
        var max = (1 << prefixBits) - 1;
        if (value < max)
        {
            into.Add((byte)(flags | value));
            return;
        }
        into.Add((byte)(flags | max));
        for (value -= max; value >= 128; value >>= 7)
        {
            into.Add((byte)(value % 128 + 128));
        }
        into.Add((byte)value);
    }

    private static byte[] GrpcMessage(byte[] message)
    {
        var framed = new byte[5 + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(1), (uint)message.Length);
        message.CopyTo(framed, 5);
        return framed;
    }

    private static byte[] Frame(byte type, byte flags, int stream, byte[] payload)
    {
        var frame = new byte[9 + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = type;
        frame[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(5), stream & int.MaxValue);
        payload.CopyTo(frame, 9);
        return frame;
    }

    private static byte[] U32(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return bytes;
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
