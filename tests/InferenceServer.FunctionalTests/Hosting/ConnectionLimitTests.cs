using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace InferenceServer.FunctionalTests.Hosting;

/// <summary>
/// Connections past what the process's descriptors allow: the server refuses new ones at its limit (below the
/// descriptor limit), keeps serving those it has, says so once in its log, and closes idle ones after the keep-alive
/// timeout. Before the limit, a few hundred idle connections at <c>ulimit -n 512</c> aborted the process (the runtime
/// itself holds some 230 descriptors, two per loaded assembly).
/// </summary>
[Collection(TimingSensitive.Name)]
public sealed partial class ConnectionLimitTests
{
    private const int DescriptorLimit = 512;

    // More than the descriptor limit: without a connection limit each one holds a descriptor of the server's.
    private const int IdleConnections = 700;

    [Fact]
    public async Task MoreIdleConnectionsThanTheDescriptorLimitAreRefusedWhileOpenConnectionsAreStillServed()
    {
        using var repository = new TestRepository().AddSample("simple");
        using var server = ServerProcess.Start(
            ["serve", "--model-repository", repository.Path, "--http-address", "127.0.0.1", "--http-port", "0", "--grpc-port", "0", "--metrics-port", "0"],
            shell: string.Create(System.Globalization.CultureInfo.InvariantCulture, $"ulimit -n {DescriptorLimit}"));
        using var client = await server.HttpClientAsync();
        var limitLine = await server.WaitForOutputAsync(LimitLine());
        await server.WaitForOutputAsync(new Regex("Ready: serving"));
        var limit = int.Parse(LimitLine().Match(limitLine).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(limit, 16, DescriptorLimit - 128);
        // This client's connection is open before the flood, and stays open (keep-alive).
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v2/health/ready")).StatusCode);

        var idle = new List<Socket>();
        try
        {
            for (var i = 0; i < IdleConnections && !server.HasExited; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                idle.Add(socket);
                try
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                    await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, client.BaseAddress!.Port), timeout.Token);
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException)
                {
                    // A full accept queue; the server's side of it is what the test is about.
                }
            }
            await server.WaitForOutputAsync(RefusingLine());

            Assert.False(server.HasExited, $"the server died under {IdleConnections} idle connections; stderr: {string.Join(" | ", server.Error)}");
            // Served on the connection it already had.
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v2/health/ready")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v2/models/simple/ready")).StatusCode);
            // A new connection is closed at once, so its client knows; without the limit it waited in the accept queue
            // of a server that had no descriptor left to take it, until the client gave up.
            using var late = new HttpClient { BaseAddress = client.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
            await Assert.ThrowsAsync<HttpRequestException>(() => late.GetAsync("/v2/health/ready"));
        }
        finally
        {
            foreach (var socket in idle)
            {
                socket.Dispose();
            }
        }

        // Once the idle connections are gone, new ones are served again.
        using var fresh = new HttpClient { BaseAddress = client.BaseAddress };
        await PollUntilServedAsync(fresh);
        Assert.False(server.HasExited);
        // One line for the whole burst, not one per connection.
        Assert.Single(server.Output, l => RefusingLine().IsMatch(l));
    }

    [Fact]
    public async Task AnIdleConnectionIsClosedAfterTheKeepAliveTimeout()
    {
        using var repository = new TestRepository();
        await using var server = await RunningServer.StartAsync(repository.Path, ("Server:KeepAliveTimeoutSeconds", "1"));
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.Host.HttpAddress.Port));

        // Nothing is sent; the server ends the connection: the read sees the end of the stream (Kestrel's own default
        // would keep it for 130 s, past this test's patience).
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var read = await socket.ReceiveAsync(new byte[16], SocketFlags.None, patience.Token);

        Assert.Equal(0, read);
    }

    // The many-models runs lost requests to the keep-alive race: a client sent its next request on an idle connection just
    // as the server closed it for the keep-alive timeout, and a blocking collection's pause widened that moment to the
    // pause's length. The server now tells the client its timeout, and keeps the connection well past it: a request that
    // reaches the server seconds after the time it told (here 1 s, the request read 3 s after the last answer, as a server
    // paused over a client's in-time request would read it) is still answered on the same connection.
    [Fact]
    public async Task TheKeepAliveTimeoutIsToldToTheClientAndAConnectionIsKeptPastItForARequestReadLate()
    {
        using var repository = new TestRepository();
        await using var server = await RunningServer.StartAsync(repository.Path, ("Server:KeepAliveTimeoutSeconds", "1"));
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.Host.HttpAddress.Port));

        var first = await ExchangeAsync(socket);
        Assert.StartsWith("HTTP/1.1 200", first, StringComparison.Ordinal);
        Assert.Contains("\r\nKeep-Alive: timeout=1\r\n", first, StringComparison.OrdinalIgnoreCase);

        // Past what the client was told, well within what the server keeps (1 s + 10 s).
        await Task.Delay(TimeSpan.FromSeconds(3));
        var second = await ExchangeAsync(socket);
        Assert.StartsWith("HTTP/1.1 200", second, StringComparison.Ordinal);
    }

    // Sends GET /v2/health/live on the socket and returns the answer's head (an empty string when the server closed the
    // connection instead of answering). The answer has no body, so the head is all of it.
    private static async Task<string> ExchangeAsync(Socket socket)
    {
        await socket.SendAsync("GET /v2/health/live HTTP/1.1\r\nHost: localhost\r\n\r\n"u8.ToArray(), SocketFlags.None);
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var head = new System.Text.StringBuilder();
        var buffer = new byte[4096];
        while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            int read;
            try
            {
                read = await socket.ReceiveAsync(buffer, SocketFlags.None, patience.Token);
            }
            catch (SocketException)
            {
                // Reset by the server: no answer either.
                return head.ToString();
            }
            if (read == 0)
            {
                return head.ToString();
            }
            head.Append(System.Text.Encoding.ASCII.GetString(buffer, 0, read));
        }
        return head.ToString();
    }

    private static async Task PollUntilServedAsync(HttpClient client)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                if ((await client.GetAsync("/v2/health/ready")).StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                // Refused while the server has not yet seen the idle connections close.
            }
            Assert.True(DateTime.UtcNow < deadline, "a new connection was not served within 30 s of the idle ones closing");
            await Task.Delay(100);
        }
    }

    [GeneratedRegex(@"Connections: at most (\d+) open at once")]
    private static partial Regex LimitLine();

    [GeneratedRegex("Refusing new connections")]
    private static partial Regex RefusingLine();
}
