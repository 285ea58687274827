using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using InferenceServer.Core.Features.Sidecar;
using MessagePack;
using StackExchange.Redis;

namespace InferenceServer.FunctionalTests.Features.Sidecar;

/// <summary>
/// The real <c>feature-sidecar serve</c> process over its Unix socket, against a real <c>redis-server</c>: exact
/// lookups, missing entities and fields, deadlines, overload, Redis killed and restarted under load, malformed frames
/// refused while other connections are served, SIGTERM, and a stale socket.
/// </summary>
public sealed partial class SidecarServeTests : IAsyncLifetime
{
    private static readonly string[] Fields = ["age", "workclass", "hours-per-week"];

    private RedisServer _redis = null!;
    private ConnectionMultiplexer _seed = null!;
    private readonly string _folder = Directory.CreateTempSubdirectory("sidecar-").FullName;

    private string Socket => Path.Combine(_folder, "sidecar.sock");

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _seed = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { _redis.Endpoint }, AbortOnConnectFail = false, AllowAdmin = true });
        var database = _seed.GetDatabase();
        await database.HashSetAsync("income:1", [new("age", "39"), new("workclass", "State-gov"), new("hours-per-week", "40"), new("_stored_at", 1_764_000_000_000)]);
        await database.HashSetAsync("income:2", [new("age", "50"), new("workclass", "Self-emp-not-inc"), new("_stored_at", 1_764_000_000_500)]);
        // Written by something other than materialize: values, but no write time.
        await database.HashSetAsync("income:3", [new("age", "38")]);
    }

    public async Task DisposeAsync()
    {
        await _seed.DisposeAsync();
        await _redis.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task ALookupAnswersEveryKeyInOrderWithItsWriteTimeAndValuesAsStored()
    {
        using var sidecar = await SidecarProcess.ServeAsync(Socket, _redis.Address);
        await using var client = await WireClient.ConnectAsync(Socket);

        var answer = await client.LookupAsync(7, Fields, ["income:2", "income:404", "income:1", "income:3"]);

        Assert.Equal(SidecarStatus.Ok, answer.Status);
        Assert.Equal("", answer.Message);
        Assert.Equal(4, answer.Rows.Count);
        Assert.Equal(1_764_000_000_500, answer.Rows[0].StoredAt);
        AssertValues(["50", "Self-emp-not-inc", null], answer.Rows[0].Values);
        // An entity not found: stored_at 0 and every value absent.
        Assert.Equal(0, answer.Rows[1].StoredAt);
        AssertValues([null, null, null], answer.Rows[1].Values);
        Assert.Equal(1_764_000_000_000, answer.Rows[2].StoredAt);
        AssertValues(["39", "State-gov", "40"], answer.Rows[2].Values);
        // Values without a write time: served, with the earliest write time (so any TTL expires them).
        Assert.Equal(1, answer.Rows[3].StoredAt);
        AssertValues(["38", null, null], answer.Rows[3].Values);
    }

    [Fact]
    public async Task ARedisOnThisMachineIsReadThroughItsUnixSocket()
    {
        using var sidecar = await SidecarProcess.ServeAsync(Socket, _redis.UnixAddress);
        await using var client = await WireClient.ConnectAsync(Socket);

        var answer = await client.LookupAsync(9, Fields, ["income:1", "income:404"]);

        Assert.Equal(SidecarStatus.Ok, answer.Status);
        Assert.Equal(1_764_000_000_000, answer.Rows[0].StoredAt);
        AssertValues(["39", "State-gov", "40"], answer.Rows[0].Values);
        Assert.Equal(0, answer.Rows[1].StoredAt);
        // Through the socket, not the port: Redis lists the sidecar's connection with its Unix-socket flag.
        var clients = (string)(await _seed.GetDatabase().ExecuteAsync("CLIENT", "LIST"))!;
        Assert.Contains(clients.Split('\n'), line => line.Contains("name=feature-sidecar", StringComparison.Ordinal) && line.Contains("flags=U", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ManyLookupsInOneSendAreAllAnsweredEachByItsId()
    {
        using var sidecar = await SidecarProcess.ServeAsync(Socket, _redis.Address);
        await using var client = await WireClient.ConnectAsync(Socket);

        const int Count = 300;
        await client.SendAsync(output =>
        {
            for (uint id = 0; id < Count; id++)
            {
                SidecarMessages.WriteLookup(output, 1000 + id, 5000, "income", Fields, [id % 2 == 0 ? "income:1" : "income:2"]);
            }
            SidecarMessages.WritePing(output, 99);
        });
        var seen = new HashSet<uint>();
        var pong = false;
        for (var i = 0; i < Count + 1; i++)
        {
            var body = new ReadOnlySequence<byte>((await client.ReceiveAsync())!);
            if (SidecarMessages.ReadHeader(body, out var id) == SidecarMessageKind.Ping)
            {
                Assert.Equal(99u, SidecarMessages.ReadPing(body));
                pong = true;
                continue;
            }
            var answer = LookupAnswer.Read(body.ToArray());
            Assert.True(seen.Add(answer.Id), $"lookup {answer.Id} answered twice");
            Assert.Equal(SidecarStatus.Ok, answer.Status);
            Assert.Equal((answer.Id - 1000) % 2 == 0 ? "39" : "50", answer.Rows[0].Values[0]);
        }
        Assert.True(pong);
        Assert.Equal(Count, seen.Count);
    }

    [Theory]
    [InlineData(0u, new[] { "age" }, "income:1", "timeout_ms is 0")]
    [InlineData(100u, new string[0], "income:1", "asks for no fields")]
    [InlineData(100u, new[] { "age", "_stored_at" }, "income:1", "reserves for the write time")]
    [InlineData(100u, new[] { "age" }, "", "an empty store key")]
    public async Task AWrongLookupIsABadRequestAndTheConnectionGoesOn(uint timeout, string[] fields, string key, string expected)
    {
        using var sidecar = await SidecarProcess.ServeAsync(Socket, _redis.Address);
        await using var client = await WireClient.ConnectAsync(Socket);

        var bad = await client.LookupAsync(1, fields, [key], timeout);
        var good = await client.LookupAsync(2, Fields, ["income:1"]);

        Assert.Equal(SidecarStatus.BadRequest, bad.Status);
        Assert.Contains(expected, bad.Message, StringComparison.Ordinal);
        Assert.Empty(bad.Rows);
        Assert.Equal(SidecarStatus.Ok, good.Status);
    }

    [Fact]
    public async Task AStoreSlowerThanTheDeadlineIsAnsweredDeadlineExceededInTime()
    {
        using var sidecar = await SidecarProcess.ServeAsync(Socket, _redis.Address);
        await using var client = await WireClient.ConnectAsync(Socket);
        await client.LookupAsync(1, Fields, ["income:1"]);

        // Redis holds every client's commands for five seconds.
        await _seed.GetDatabase().ExecuteAsync("CLIENT", "PAUSE", "5000", "ALL");
        var clock = Stopwatch.StartNew();
        var answer = await client.LookupAsync(2, Fields, ["income:1"], timeoutMilliseconds: 100);

        Assert.Equal(SidecarStatus.DeadlineExceeded, answer.Status);
        Assert.Contains("within the lookup's 100 ms", answer.Message, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"answered after {clock.Elapsed}, not at its 100 ms deadline but when Redis answered");
    }

    [Fact]
    public async Task LookupsBeyondTheConnectionsBoundAreOverloadedAtOnce()
    {
        using var sidecar = await SidecarProcess.ServeAsync(Socket, _redis.Address, "--max-in-flight", "2");
        await using var client = await WireClient.ConnectAsync(Socket);

        await _seed.GetDatabase().ExecuteAsync("CLIENT", "PAUSE", "500", "ALL");
        await client.SendAsync(output =>
        {
            for (uint id = 0; id < 10; id++)
            {
                SidecarMessages.WriteLookup(output, id, 5000, "income", Fields, ["income:1"]);
            }
        });
        var statuses = new List<SidecarStatus>();
        for (var i = 0; i < 10; i++)
        {
            statuses.Add(LookupAnswer.Read((await client.ReceiveAsync())!).Status);
        }

        Assert.Equal(2, statuses.Count(s => s == SidecarStatus.Ok));
        Assert.Equal(8, statuses.Count(s => s == SidecarStatus.Overloaded));
    }

    [Fact]
    public async Task RedisKilledAndRestartedUnderLoadNeverHangsAndRecovers()
    {
        var metricsPort = FreePort();
        using var sidecar = await SidecarProcess.ServeAsync(Socket, _redis.Address, "--metrics-port", metricsPort.ToString(CultureInfo.InvariantCulture));
        await using var client = await WireClient.ConnectAsync(Socket);
        const uint Deadline = 200;
        var answers = new List<(SidecarStatus Status, TimeSpan Took)>();
        var sent = 0;

        async Task<SidecarStatus> LookupAsync()
        {
            var clock = Stopwatch.StartNew();
            var answer = await client.LookupAsync((uint)sent, Fields, ["income:1", "income:2"], Deadline);
            sent++;
            answers.Add((answer.Status, clock.Elapsed));
            if (answer.Status == SidecarStatus.Ok)
            {
                AssertValues(["39", "State-gov", "40"], answer.Rows[0].Values);
            }
            else
            {
                Assert.Contains(_redis.Address, answer.Message, StringComparison.Ordinal);
            }
            return answer.Status;
        }

        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(SidecarStatus.Ok, await LookupAsync());
        }
        _redis.Kill();
        var down = new List<SidecarStatus>();
        for (var i = 0; i < 50; i++)
        {
            down.Add(await LookupAsync());
        }
        await _redis.RestartAsync();
        var recovered = Stopwatch.StartNew();
        while (await LookupAsync() != SidecarStatus.Ok)
        {
            Assert.True(recovered.Elapsed < TimeSpan.FromSeconds(20), "the sidecar did not recover within 20 s of Redis coming back");
            await Task.Delay(50);
        }
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(SidecarStatus.Ok, await LookupAsync());
        }

        // Every lookup answered within its deadline (plus generous slack for a loaded machine): no hang while Redis was gone.
        Assert.All(answers, a => Assert.True(a.Took < TimeSpan.FromMilliseconds(Deadline + 2000),
            $"lookup {answers.IndexOf(a)} ({a.Status}) took {a.Took}; lookups 0-19 came before the kill, 20-69 while Redis was down, "
            + $"the rest after its restart (status:ms): {string.Join(",", answers.Select(x => $"{x.Status}:{x.Took.TotalMilliseconds:F0}"))}"));
        Assert.All(down, s => Assert.True(s is SidecarStatus.StoreUnavailable or SidecarStatus.DeadlineExceeded, $"status {s} while Redis was down"));
        // Once the breaker is open, the rest are refused at once as unavailable.
        Assert.Equal(SidecarStatus.StoreUnavailable, down[^1]);
        Assert.True(down.Count(s => s == SidecarStatus.StoreUnavailable) >= 40, string.Join(",", down));
        // The metrics count every lookup, by status.
        using var http = new HttpClient();
        var metrics = await http.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics");
        foreach (var (status, name) in new[] { (SidecarStatus.Ok, "ok"), (SidecarStatus.StoreUnavailable, "store_unavailable"), (SidecarStatus.DeadlineExceeded, "deadline_exceeded") })
        {
            var expected = answers.Count(a => a.Status == status);
            var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith($"feature_sidecar_lookups_total{{view=\"income\",status=\"{name}\"}}", StringComparison.Ordinal));
            Assert.Equal(expected, line is null ? 0 : (int)double.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture));
        }
        Assert.Contains("feature_sidecar_store_breaker_state 0", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MalformedFramesAreRefusedWhileAnotherConnectionKeepsBeingServed()
    {
        using var sidecar = await SidecarProcess.ServeAsync(Socket, _redis.Address);
        await using var healthy = await WireClient.ConnectAsync(Socket);
        Assert.Equal(SidecarStatus.Ok, (await healthy.LookupAsync(1, Fields, ["income:1"])).Status);

        // A lookup whose view is an integer: refused as a protocol error naming its id, then the connection closes.
        await using (var wrongType = await WireClient.ConnectAsync(Socket))
        {
            await wrongType.SendAsync(output => Frame(output, (ref MessagePackWriter w) =>
            {
                w.WriteArrayHeader(6);
                w.Write(1);
                w.Write(77);
                w.Write(100);
                w.Write(12);
                w.WriteArrayHeader(0);
                w.WriteArrayHeader(0);
            }));
            var refusal = new ReadOnlySequence<byte>((await wrongType.ReceiveAsync())!);
            Assert.Equal(SidecarMessageKind.ProtocolError, SidecarMessages.ReadHeader(refusal, out _));
            var message = SidecarMessages.ReadProtocolError(refusal, out var id);
            Assert.Equal(77u, id);
            Assert.Contains("element 3 (the view) of a lookup is an integer; expected a string", message, StringComparison.Ordinal);
            Assert.Null(await wrongType.ReceiveAsync());
        }
        // A frame longer than allowed, random bytes, a truncated body then a hang-up: each connection closed without a crash.
        var malformed = new Action<IBufferWriter<byte>>[]
        {
            // A length of 16 MiB + 1.
            output => output.Write(new byte[] { 0x01, 0x00, 0x00, 0x01 }),
            output => output.Write(new byte[] { 0, 0, 0, 5, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1 }),
            output => output.Write(new byte[] { 0, 0, 0, 2, 0x96, 0x01 }),
        };
        foreach (var write in malformed)
        {
            await using var bad = await WireClient.ConnectAsync(Socket);
            await bad.SendAsync(write);
            Assert.Null(await bad.ReceiveAsync());
        }
        // A client that says goodbye mid-frame.
        using (var hangUp = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            await hangUp.ConnectAsync(new UnixDomainSocketEndPoint(Socket));
            await hangUp.SendAsync(new byte[] { 0, 0, 0, 40, 0x96 });
        }

        Assert.Equal(SidecarStatus.Ok, (await healthy.LookupAsync(2, Fields, ["income:2"])).Status);
        await using var fresh = await WireClient.ConnectAsync(Socket);
        Assert.Equal(SidecarStatus.Ok, (await fresh.LookupAsync(3, Fields, ["income:1"])).Status);
        Assert.False(sidecar.HasExited);
    }

    [Fact]
    public async Task SigtermAnswersTheLookupsInFlightThenRemovesTheSocket()
    {
        using var sidecar = await SidecarProcess.ServeAsync(Socket, _redis.Address);
        await using var client = await WireClient.ConnectAsync(Socket);

        await _seed.GetDatabase().ExecuteAsync("CLIENT", "PAUSE", "300", "ALL");
        await client.SendAsync(output => SidecarMessages.WriteLookup(output, 5, 5000, "income", Fields, ["income:1"]));
        await Task.Delay(50);
        sidecar.Terminate();
        var answer = LookupAnswer.Read((await client.ReceiveAsync())!);

        Assert.Equal(SidecarStatus.Ok, answer.Status);
        AssertValues(["39", "State-gov", "40"], answer.Rows[0].Values);
        Assert.Equal(0, await sidecar.WaitForExitAsync());
        Assert.False(File.Exists(Socket));
    }

    [Fact]
    public async Task AStaleSocketFileIsReplacedButALiveSidecarsIsNot()
    {
        // A sidecar killed outright leaves its socket file behind.
        using (var killed = await SidecarProcess.ServeAsync(Socket, _redis.Address))
        {
            killed.KillHard();
        }
        Assert.True(File.Exists(Socket));
        using var first = await SidecarProcess.ServeAsync(Socket, _redis.Address);
        await using var client = await WireClient.ConnectAsync(Socket);
        Assert.Equal(SidecarStatus.Ok, (await client.LookupAsync(1, Fields, ["income:1"])).Status);

        var (exitCode, second) = await SidecarProcess.RunAsync("serve", "--socket", Socket, "--store", _redis.Address);
        using var _ = second;

        Assert.Equal(1, exitCode);
        Assert.Contains(second.Error, l => l.Contains($"another process is serving on unix:{Socket}", StringComparison.Ordinal));
        Assert.Equal(SidecarStatus.Ok, (await client.LookupAsync(2, Fields, ["income:1"])).Status);
        Assert.Contains(first.Output, l => l.Contains("replaced a stale socket file", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ASocketInAFolderThatIsNotThereIsAnErrorNamingIt()
    {
        var missing = Path.Combine(_folder, "missing", "sidecar.sock");

        var (exitCode, process) = await SidecarProcess.RunAsync("serve", "--socket", missing, "--store", _redis.Address);
        using var _ = process;

        Assert.Equal(1, exitCode);
        Assert.Equal([$"feature-sidecar: cannot listen on unix:{missing}: the folder {Path.GetDirectoryName(missing)} does not exist"], process.Error);
    }

    [Fact]
    public async Task BenchDrivesTheSidecarAtAConcurrencyAndReportsWhatItGot()
    {
        using var sidecar = await SidecarProcess.ServeAsync(Socket, _redis.Address);

        var (exitCode, bench) = await SidecarProcess.RunAsync("bench", "--socket", Socket, "--view", "income", "--fields", string.Join(',', Fields),
            "--keys", "income:1,income:2", "--concurrency", "16", "--connections", "2", "--duration", "1s");
        using var _ = bench;

        Assert.Equal(0, exitCode);
        var line = Assert.Single(bench.Output);
        var match = BenchLine().Match(line);
        Assert.True(match.Success, line);
        Assert.True(long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) > 0, line);
        Assert.Equal(match.Groups[1].Value, match.Groups[2].Value);
    }

    [GeneratedRegex(@"^bench: (\d+) lookups of 2 keys in \d+\.\d\d s at concurrency 16 over 2 connections: \d+ lookups/s; latency p50 \d+ us, p99 \d+ us, max \d+ us; ok (\d+), deadline_exceeded 0, store_unavailable 0, bad_request 0, overloaded 0$")]
    private static partial Regex BenchLine();

    [Theory]
    [InlineData(new[] { "serve", "--socket", "/tmp/x.sock", "--store", "mysql://db" }, "--store: 'mysql://db' is not a store address; expected redis://[USER[:PASSWORD]@]HOST[:PORT][/DB], rediss://... (TLS), redis+unix:SOCKET-PATH or file:PATH")]
    [InlineData(new[] { "serve", "--socket", "/tmp/x.sock", "--store", "redis://app:hunter2@h:0" }, "--store: 'redis://app:***@h:0' has no valid port")]
    [InlineData(new[] { "serve", "--socket", "/tmp/x.sock", "--store", "redis://h", "--store-ca", "/tmp/ca.pem" }, "--store-ca, --store-cert and --store-key are for TLS; --store redis://h is plain redis://: use rediss://")]
    [InlineData(new[] { "serve", "--socket", "/tmp/x.sock", "--store", "rediss://h", "--store-cert", "/tmp/c.pem" }, "--store-cert and --store-key go together")]
    [InlineData(new[] { "serve", "--socket", "/tmp/x.sock", "--store", "file:/tmp/s", "--store-password-file", "/tmp/p" }, "are for a Redis store; --store names a file")]
    [InlineData(new[] { "materialize", "--view", "v", "--from", "a.csv", "--store", "redis://:hunter2@h", "--store-password-file", "/tmp/p", "--key-pattern", "v:{id}", "--fields", "a" }, "the password is given twice")]
    [InlineData(new[] { "serve", "--socket", "/tmp/x.sock", "--store", "redis://h:0" }, "has no valid port")]
    [InlineData(new[] { "serve", "--socket", "/tmp/x.sock", "--store", "redis://h", "--max-in-flight", "0" }, "--max-in-flight: '0' is not valid; expected a whole number from 1 to 1000000")]
    [InlineData(new[] { "materialize", "--view", "v", "--from", "a.csv", "--store", "file:/tmp/s", "--key-pattern", "v:id", "--fields", "a" }, "names no entity key")]
    [InlineData(new[] { "materialize", "--view", "v", "--from", "a.csv", "--store", "file:/tmp/s", "--key-pattern", "v:{id}", "--fields", "a", "--ttl", "soon" }, "--ttl: 'soon' is not valid")]
    public async Task AWrongFlagIsOneLineNamingItAndExitCode2(string[] args, string expected)
    {
        var (exitCode, process) = await SidecarProcess.RunAsync(args);
        using var _ = process;

        Assert.Equal(2, exitCode);
        var line = Assert.Single(process.Error);
        Assert.StartsWith("feature-sidecar: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        // A password given on the command line is not echoed back.
        Assert.DoesNotContain("hunter2", line, StringComparison.Ordinal);
    }

    // Values with absent ones (null) compared as sequences: xUnit's array overloads refuse nullable elements.
    private static void AssertValues(IEnumerable<string?> expected, IEnumerable<string?> actual) => Assert.Equal(expected, actual);

    private delegate void WriteBody(ref MessagePackWriter writer);

    private static void Frame(IBufferWriter<byte> output, WriteBody write)
    {
        var body = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(body);
        write(ref writer);
        writer.Flush();
        SidecarFrames.WriteFrame(output, body.WrittenSpan);
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
