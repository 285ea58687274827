using System.Net.Sockets;
using System.Text;

namespace InferenceServer.FunctionalTests.Http;

/// <summary>
/// Sends HTTP/1.1 requests as raw bytes, for what <see cref="HttpClient"/> would refuse or normalize before sending: a
/// NUL in the path, dot segments, header values that are not ASCII.
/// </summary>
internal static class RawHttp
{
    /// <summary>A response as it came off the wire: the status code, the headers (names lower-cased) and the body.</summary>
    public sealed record Response(int Status, IReadOnlyDictionary<string, string> Headers, byte[] Body)
    {
        public string Text => Encoding.UTF8.GetString(Body);
    }

    /// <summary>
    /// Sends <paramref name="head"/> (the request line and headers, without the blank line that ends them) with
    /// <paramref name="body"/>, adding <c>Content-Length</c> and <c>Connection: close</c>, and reads the whole response.
    /// </summary>
    public static Task<Response> SendAsync(Uri server, byte[] head, byte[]? body = null)
    {
        var request = new MemoryStream();
        request.Write(head);
        request.Write(Encoding.ASCII.GetBytes($"\r\nHost: {server.Authority}\r\nContent-Length: {body?.Length ?? 0}\r\nConnection: close\r\n\r\n"));
        request.Write(body ?? []);
        return SendExactAsync(server, request.ToArray());
    }

    /// <summary>
    /// Sends <paramref name="request"/> exactly as given (its head must ask for <c>Connection: close</c>) and reads the
    /// whole response: for framing the other overloads would add to, such as a chunked body.
    /// </summary>
    public static async Task<Response> SendExactAsync(Uri server, byte[] request)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(request);

        // Connection: close: the server closes once the response is written, so the response is what arrives until then.
        // A server that answers before it has read the whole body (413) may reset the connection after its answer, as
        // HTTP/1.1 allows; what arrived before the reset is the response.
        var received = new MemoryStream();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await stream.CopyToAsync(received, timeout.Token);
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset } && received.Length > 0)
        {
        }
        return Parse(received.ToArray());
    }

    /// <summary>As <see cref="SendAsync(Uri, byte[], byte[])"/>, with the head given as text encoded in UTF-8.</summary>
    public static Task<Response> SendAsync(Uri server, string head, string? body = null) =>
        SendAsync(server, Encoding.UTF8.GetBytes(head), body is null ? null : Encoding.UTF8.GetBytes(body));

    private static Response Parse(byte[] bytes)
    {
        var end = bytes.AsSpan().IndexOf("\r\n\r\n"u8);
        Assert.True(end > 0, $"no complete response head in {bytes.Length} bytes: {Encoding.Latin1.GetString(bytes)}");
        var lines = Encoding.Latin1.GetString(bytes, 0, end).Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            headers[line[..colon].Trim().ToLowerInvariant()] = line[(colon + 1)..].Trim();
        }
        var body = bytes[(end + 4)..];
        if (headers.TryGetValue("transfer-encoding", out var coding) && coding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            body = Unchunk(body);
        }
        return new Response(status, headers, body);
    }

    private static byte[] Unchunk(byte[] chunked)
    {
        var body = new MemoryStream();
        var offset = 0;
        while (true)
        {
            var lineEnd = chunked.AsSpan(offset).IndexOf("\r\n"u8) + offset;
            var size = Convert.ToInt32(Encoding.ASCII.GetString(chunked, offset, lineEnd - offset).Split(';')[0], 16);
            if (size == 0)
            {
                return body.ToArray();
            }
            body.Write(chunked, lineEnd + 2, size);
            offset = lineEnd + 2 + size + 2;
        }
    }
}
