using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace InferenceServer.FunctionalTests.Hardening;

/// <summary>
/// Raw HTTP/1.1 requests over a socket, for what HttpClient will not send: a path with %00, "..", or bytes that are not
/// ASCII; a non-ASCII Content-Type; a Content-Length that lies; broken chunked framing; odd methods and versions. The
/// socket's sending side is closed after the request, so a server that waits for more can tell it will not come.
/// </summary>
internal static class RawHttp
{
    private const string Path = "/v2/models/simple/infer";

    private static readonly string[] Paths =
    [
        "/v2/models/../infer", "/v2/models/simple%00/infer", "/v2/models/%00/infer", "/v2/models/simple/../simple/infer",
        "/v2/models/%2e%2e/infer", "/v2/models/simple%2Finfer", "/v2/models/sim%ple/infer", "/v2/models/" + new string('a', 8000) + "/infer",
        "/v2/models/s\u00e9/infer", "//v2/models/simple/infer", "/v2/models/simple/infer?x=%00&y=%ZZ", "/v2/models/simple/versions/99999999999999999999/infer",
        "/v2/models/simple/versions/-1/infer", "/v2/models/simple/versions/%00/infer", "*", "http://elsewhere/v2/models/simple/infer",
        "/v2/models/simple/infer#fragment", "/v2/repository/models/..%2f..%2fetc/load", "/v2/models/%C0%AE%C0%AE/infer", "/v2/models/%ED%A0%80/infer",
        "/v2/models/simple/versions/1/infer", "/v2/models/%20/infer", "/v2/models/simple/infer/", "/V2/MODELS/SIMPLE/INFER",
    ];

    private static readonly string[] ContentTypes =
    [
        "application/json; charset=\u00e9", "\u00ff\u00fe", "application/octet-stream", "text/plain", "application/json; charset=utf-16",
        "", "application/json\u0000", "multipart/form-data; boundary=x", "application/json; charset=\"", "application/json;;;", "\u00e9",
    ];

    private static readonly string[] Headers =
    [
        "X-Note: caf\u00e9", "X-Nul: a\u0000b", "X-Big: " + new string('x', 100_000), "X-Fold: a\r\n b", "NoColonHere", "Inference-Header-Content-Length: \u00ff",
        "Content-Encoding: gzip", "Content-Encoding: br", "Content-Encoding: deflate, gzip", "Expect: 100-continue", "Accept-Encoding: \u00e9", "Host: \u00ff",
        "Inference-Header-Content-Length: 10", "Inference-Header-Content-Length: -5", "Transfer-Encoding: identity", "Triton-Request-Id: \u00e9",
        ": empty-name", "X-Space : before-colon", "Connection: keep-alive, Upgrade\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA",
    ];

    private static readonly string[] Methods = ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "CONNECT", "P\u0000ST", "post", new string('P', 300), "POST "];

    private static readonly string[] Versions = ["HTTP/1.0", "HTTP/2.0", "HTTP/1.2", "HTTP/9", "HTTP/1.1 extra", "http/1.1", "HTTP/1.1\u0000", ""];

    public static readonly string[] Names = ["path", "Content-Type", "Content-Length", "chunked", "method", "header", "version", "byte damage", "body"];

    public static FuzzCase Generate(Random random, int index)
    {
        var body = Encoding.UTF8.GetBytes(FuzzServer.SimpleJson);
        var method = "POST";
        var path = Path;
        var version = "HTTP/1.1";
        var contentType = "application/json";
        string? length = body.Length.ToString(CultureInfo.InvariantCulture);
        var extra = new List<string>();
        var chunked = false;
        var kind = index < Names.Length * 20 ? index % Names.Length : random.Next(Names.Length);
        string what;
        switch (kind)
        {
            case 0:
                path = Paths[random.Next(Paths.Length)];
                what = "path " + FuzzServer.Cut(path, 80);
                break;
            case 1:
                contentType = ContentTypes[random.Next(ContentTypes.Length)];
                what = $"Content-Type '{contentType}'";
                break;
            case 2:
                string[] lies = ["-1", "abc", "99999999999999999999", "0", "1e3", " ", "+5", "0x10"];
                length = random.Next(3) switch
                {
                    0 => (body.Length + random.Next(-20, 21)).ToString(CultureInfo.InvariantCulture),
                    1 => lies[random.Next(lies.Length)],
                    _ => null,
                };
                if (length is null)
                {
                    extra.Add($"Content-Length: {body.Length}");
                    length = (body.Length + 1).ToString(CultureInfo.InvariantCulture);
                }
                what = $"Content-Length '{length}'{(extra.Count > 0 ? " given twice" : "")}";
                break;
            case 3:
                chunked = true;
                string[] sizes = ["FFFFFFFFFFFFFFFF", "-1", "10000000", "zz", "0", "1;ext=\u00e9", "7fffffff"];
                var size = random.Next(3) == 0 ? body.Length.ToString("X", CultureInfo.InvariantCulture) : sizes[random.Next(sizes.Length)];
                var ending = random.Next(3) switch { 0 => "\r\n0\r\n\r\n", 1 => "\r\n", _ => "\r\n0\r\nX-Trailer: \u00e9\r\n\r\n" };
                body = [.. Encoding.Latin1.GetBytes(size + "\r\n"), .. body, .. Encoding.Latin1.GetBytes(ending)];
                if (random.Next(2) == 0)
                {
                    length = null;
                }
                what = $"chunked, chunk size '{size}', ending {ending.Length} bytes{(length is null ? "" : ", and a Content-Length")}";
                break;
            case 4:
                method = Methods[random.Next(Methods.Length)];
                what = "method " + FuzzServer.Cut(method, 40);
                break;
            case 5:
                for (var n = random.Next(1, 3); n > 0; n--)
                {
                    extra.Add(Headers[random.Next(Headers.Length)]);
                }
                if (random.Next(10) == 0)
                {
                    extra.AddRange(Enumerable.Range(0, 300).Select(i => $"X-Many-{i}: {i}"));
                }
                what = "headers " + string.Join(" / ", extra.Select(h => FuzzServer.Cut(h, 60)));
                break;
            case 6:
                version = Versions[random.Next(Versions.Length)];
                what = $"version '{version}'";
                break;
            case 8:
                (body, var done) = JsonMutator.MutateSome(body, random);
                length = body.Length.ToString(CultureInfo.InvariantCulture);
                what = "body: " + done;
                break;
            default:
                what = "byte damage";
                break;
        }
        var head = new StringBuilder();
        head.Append(CultureInfo.InvariantCulture, $"{method} {path} {version}\r\nHost: 127.0.0.1\r\n");
        if (contentType.Length > 0)
        {
            head.Append(CultureInfo.InvariantCulture, $"Content-Type: {contentType}\r\n");
        }
        if (chunked)
        {
            head.Append("Transfer-Encoding: chunked\r\n");
        }
        if (length is not null)
        {
            head.Append(CultureInfo.InvariantCulture, $"Content-Length: {length}\r\n");
        }
        foreach (var header in extra)
        {
            head.Append(header).Append("\r\n");
        }
        head.Append("Connection: close\r\n\r\n");
        // Latin-1 keeps each char below 256 as one byte, so "é" goes out as the single byte 0xE9 (not ASCII, not UTF-8); the
        // UTF-8 form of non-Latin-1 text is what a client sending UTF-8 headers would send.
        var headBytes = head.ToString().All(c => c < 256) ? Encoding.Latin1.GetBytes(head.ToString()) : Encoding.UTF8.GetBytes(head.ToString());
        byte[] bytes = [.. headBytes, .. body];
        if (kind == 7)
        {
            var damage = random.Next(ByteMutator.Names.Length);
            bytes = ByteMutator.Mutate(bytes, random, damage);
            what += ": " + ByteMutator.Names[damage];
        }
        return new FuzzCase(index, bytes, "raw HTTP/1.1: " + what) { State = (path, method, body) };
    }

    public static async Task<FuzzVerdict> SendAsync(Uri server, FuzzCase c, CancellationToken cancel)
    {
        var (path, method, body) = ((string, string, byte[]))c.State!;
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server.Host, server.Port, cancel);
        try
        {
            await socket.SendAsync(c.Bytes, SocketFlags.None, cancel);
        }
        catch (SocketException)
        {
            // The server closed first (it refused the head before the body was sent): read what it answered.
        }
        // Kestrel takes the end of the client's stream as the client going away (it aborts the request), so the sending
        // side stays open while an answer may come. A request that declared more body than it sent waits for it: after
        // a second of silence the sending side is closed, so the server sees that no more will come.
        using var quiet = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        quiet.CancelAfter(TimeSpan.FromSeconds(1));
        var received = new List<byte>();
        var answer = await ReadResponseAsync(socket, received, method == "HEAD", quiet.Token, cancel);
        if (answer is null && !cancel.IsCancellationRequested)
        {
            if (received.Count == 0)
            {
                try
                {
                    socket.Shutdown(SocketShutdown.Send);
                }
                catch (SocketException)
                {
                    // Already closed by the server.
                }
            }
            answer = await ReadResponseAsync(socket, received, method == "HEAD", cancel, cancel);
        }
        cancel.ThrowIfCancellationRequested();
        if (answer is null)
        {
            return new FuzzVerdict("closed without an answer");
        }
        var (status, responseBody) = answer.Value;
        if (responseBody.Length == 0 && (status is 400 or 414 or 431 or 505 || status == 405 && path == "*" && AllowsOnlyOptions(received))
            && RefusedByKestrelParser(received))
        {
            // Kestrel answers a request line or header it cannot parse (%00 or non-ASCII in the path, a header value
            // that is not ASCII, an unknown version, the asterisk form with a method other than OPTIONS: 405 Allow:
            // OPTIONS) itself, before any middleware runs, with an empty body and a closed connection; ASP.NET Core
            // offers no way to give that answer a body (a known, documented limit).
            return new FuzzVerdict(status.ToString(CultureInfo.InvariantCulture) + " from Kestrel's parser");
        }
        if (status == 505)
        {
            // HTTP Version Not Supported: the one 5xx that names the client's mistake (RFC 9110 15.6.6); its body is still judged.
            return responseBody.Length == 0 ? new FuzzVerdict("505", "empty error body", "505 with body ''") : new FuzzVerdict("505");
        }
        if (status is >= 200 and < 300 && method != "POST" || method == "HEAD" && status < 500)
        {
            // Not an inference: only the status tells anything.
            return new FuzzVerdict(status.ToString(CultureInfo.InvariantCulture));
        }
        return RestOracle.Judge(status, responseBody, null, "simple", body, binaryRequest: false);
    }

    // Kestrel's own refusals of an unparsable head close the connection; every answer of the server's code has a body.
    private static bool RefusedByKestrelParser(List<byte> received) =>
        Encoding.Latin1.GetString(received.ToArray()).Contains("\r\nConnection: close\r\n", StringComparison.OrdinalIgnoreCase);

    // Kestrel's refusal of the asterisk form allows OPTIONS alone; no route of the server's answers so.
    private static bool AllowsOnlyOptions(List<byte> received) =>
        Encoding.Latin1.GetString(received.ToArray()).Contains("\r\nAllow: OPTIONS\r\n", StringComparison.OrdinalIgnoreCase);

    // The first final answer on the socket (status, body), or null when the server closed without one (or `stop` came
    // first). Reads until the body is complete (Content-Length, chunked) or the server closes.
    private static async Task<(int Status, byte[] Body)?> ReadResponseAsync(Socket socket, List<byte> received, bool head, CancellationToken stop, CancellationToken cancel)
    {
        var buffer = new byte[16384];
        while (true)
        {
            if (TryParse(received, head) is { } complete)
            {
                return complete;
            }
            int read;
            try
            {
                read = await socket.ReceiveAsync(buffer, SocketFlags.None, stop);
            }
            catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
            {
                return null;
            }
            catch (SocketException)
            {
                read = 0;
            }
            if (read == 0)
            {
                return TryParse(received, head, closed: true);
            }
            received.AddRange(buffer.AsSpan(0, read));
        }
    }

    private static (int Status, byte[] Body)? TryParse(List<byte> received, bool head, bool closed = false)
    {
        var bytes = received.ToArray();
        var start = 0;
        while (true)
        {
            var end = bytes.AsSpan(start).IndexOf("\r\n\r\n"u8);
            if (end < 0)
            {
                return null;
            }
            var headText = Encoding.Latin1.GetString(bytes, start, end);
            var lines = headText.Split("\r\n");
            var parts = lines[0].Split(' ');
            if (parts.Length < 2 || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var status))
            {
                return (0, bytes);
            }
            var bodyStart = start + end + 4;
            if (status is >= 100 and < 200)
            {
                // An interim answer (100 Continue): the final one follows.
                start = bodyStart;
                continue;
            }
            var headers = lines.Skip(1).Select(l => l.Split(':', 2)).Where(p => p.Length == 2)
                .GroupBy(p => p[0].Trim(), StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.First()[1].Trim(), StringComparer.OrdinalIgnoreCase);
            if (head || status is 204 or 304)
            {
                return (status, []);
            }
            if (headers.TryGetValue("Content-Length", out var lengthText) && int.TryParse(lengthText, NumberStyles.None, CultureInfo.InvariantCulture, out var length))
            {
                return bytes.Length - bodyStart >= length ? (status, bytes.AsSpan(bodyStart, length).ToArray()) : closed ? (status, bytes[bodyStart..]) : null;
            }
            if (headers.TryGetValue("Transfer-Encoding", out var encoding) && encoding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
            {
                return Dechunk(bytes, bodyStart) is { } body ? (status, body) : closed ? (status, bytes[bodyStart..]) : null;
            }
            return closed ? (status, bytes[bodyStart..]) : null;
        }
    }

    private static byte[]? Dechunk(byte[] bytes, int at)
    {
        var body = new List<byte>();
        while (true)
        {
            var line = bytes.AsSpan(at).IndexOf("\r\n"u8);
            if (line < 0 || !int.TryParse(Encoding.Latin1.GetString(bytes, at, line).Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var size))
            {
                return null;
            }
            at += line + 2;
            if (size == 0)
            {
                return [.. body];
            }
            if (bytes.Length < at + size + 2)
            {
                return null;
            }
            body.AddRange(bytes.AsSpan(at, size));
            at += size + 2;
        }
    }
}
