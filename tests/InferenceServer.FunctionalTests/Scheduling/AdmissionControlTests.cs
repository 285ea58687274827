using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Health.V1;
using InferenceServer.FunctionalTests.Http;
using InferenceServer.Hosting;
using InferenceServer.Protocols.Grpc.Messages;

namespace InferenceServer.FunctionalTests.Scheduling;

/// <summary>
/// Admission control with the server's default queue policy (issue 12, defect 4): a model whose config sets no queue
/// policy, kept busy on purpose so that its queue stops draining, then flooded, keeps the one batch per instance it
/// queued and refuses the rest at once (REST 503 with Retry-After, gRPC UNAVAILABLE with a retry pushback) while the
/// busy request still runs; health and metrics answer during the flood; the request it accepted is answered correctly;
/// once the flood has passed a request is served at once; a burst that drains is queued whole; and a request that
/// waits longer than it may is answered 503 without running.
/// </summary>
[Collection(TimingSensitive.Name)]
public sealed partial class AdmissionControlTests
{
    // Triton's default scheduler: no batch dimension, no dynamic_batching, no queue policy.
    private const string WithoutBatching = """
        max_batch_size: 0
        input [ { name: "X" data_type: TYPE_FP32 dims: [ 64, 64 ] }, { name: "ITERATIONS" data_type: TYPE_INT64 dims: [ 1 ] } ]
        output [ { name: "Y" data_type: TYPE_FP32 dims: [ 64, 64 ] } ]
        """;

    // The dynamic batcher without a queue policy; batches of one, so a request cannot join the busy one.
    private const string WithDynamicBatching = """
        max_batch_size: 1
        input [ { name: "X" data_type: TYPE_FP32 dims: [ 64, 64 ] }, { name: "ITERATIONS" data_type: TYPE_INT64 dims: [ 1 ] } ]
        output [ { name: "Y" data_type: TYPE_FP32 dims: [ 64, 64 ] } ]
        dynamic_batching { }
        """;

    // Longer than the 100 ms after which a queue that has not drained counts as overloaded.
    private static readonly TimeSpan Backlog = TimeSpan.FromMilliseconds(300);

    // Enough work to keep the only instance busy for seconds.
    private const long Busy = 500_000;

    private const int Flood = 16;

    // The request queued before the flood waits behind seconds of work, past the default wait of a second; the bound on
    // the queue's size is what these tests are about.
    private static readonly (string, string) LongWait = ("Server:MaxQueueWaitMilliseconds", "120000");

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AFloodOfAQueueThatDoesNotDrainIsRefusedAtOnceWhileHealthAndMetricsAnswer(bool dynamicBatching)
    {
        using var repository = Repository(dynamicBatching);
        await using var server = await RunningServer.StartAsync(repository.Path, LongWait);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/models/slow/ready")).StatusCode);

        for (var busyIterations = Busy; ; busyIterations *= 2)
        {
            var busy = await StartBusyAsync(server, dynamicBatching, busyIterations);
            var rejectedBefore = await RejectedCountAsync(server);
            // One batch (of one request) waits behind the busy one, long enough for the queue to count as not draining.
            var queued = server.Client.PostJsonAsync("/v2/models/slow/infer", SlowRequest(dynamicBatching, 2));
            await WaitForPendingAsync(server, 1);
            await Task.Delay(Backlog);
            var flood = Enumerable.Range(0, Flood).Select(i => server.Client.PostAsync("/v2/models/slow/infer", Json(SlowRequest(dynamicBatching, i + 1)))).ToArray();
            // Health and metrics while the flood is on.
            var ready = server.Client.GetAsync("/v2/health/ready");
            var live = server.Client.GetAsync("/v2/health/live");
            var metrics = server.MetricsClient.GetStringAsync("/metrics");
            var grpcHealth = GrpcHealthAsync(server);

            // Every refusal comes while the busy request runs.
            var answered = await WaitForAnswersAsync(flood, busy);
            var conclusive = !busy.IsCompleted;
            Assert.Equal(HttpStatusCode.OK, (await ready).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await live).StatusCode);
            Assert.Contains("nv_inference_pending_request_count", await metrics);
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await grpcHealth);
            var refused = new List<HttpResponseMessage>();
            var accepted = new List<(int Iterations, Task<HttpResponseMessage> Response)>();
            for (var i = 0; i < Flood; i++)
            {
                if (flood[i].IsCompletedSuccessfully && await flood[i] is { StatusCode: HttpStatusCode.ServiceUnavailable } refusal)
                {
                    refused.Add(refusal);
                }
                else
                {
                    accepted.Add((i + 1, flood[i]));
                }
            }

            var (busyResponse, busyBody) = await busy;
            Assert.Equal(HttpStatusCode.OK, busyResponse.StatusCode);
            AssertOutput(busyBody, busyIterations);
            var (queuedResponse, queuedBody) = await queued;
            Assert.Equal(HttpStatusCode.OK, queuedResponse.StatusCode);
            AssertOutput(queuedBody, 2);
            foreach (var (iterations, response) in accepted)
            {
                var answer = await response;
                Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
                AssertOutput(JsonNode.Parse(await answer.Content.ReadAsStringAsync()), iterations);
            }
            if (!conclusive && answered > 0 && busyIterations < 8 * Busy)
            {
                // The busy request ended before the flood was through, which proves nothing; without any answer before
                // it ended the queue took them all, which is the defect.
                continue;
            }
            Assert.True(conclusive, $"the busy request finished before the flood was answered ({answered} of {Flood} answered), even at {busyIterations} iterations");

            // One batch of one request per instance waited; everything beyond it was refused at once, saying why.
            Assert.Empty(accepted);
            Assert.Equal(Flood, refused.Count);
            foreach (var response in refused)
            {
                Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
                var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!.GetValue<string>();
                Assert.Contains("is overloaded", error);
                Assert.Contains("retry later", error);
            }
            Assert.Equal(rejectedBefore + Flood, await RejectedCountAsync(server));

            // Recovery: with the flood over, a request runs at once.
            await WaitForPendingAsync(server, 0);
            var (next, nextBody) = await server.Client.PostJsonAsync("/v2/models/slow/infer", SlowRequest(dynamicBatching, 3));
            Assert.Equal(HttpStatusCode.OK, next.StatusCode);
            AssertOutput(nextBody, 3);
            return;
        }
    }

    [Fact]
    public async Task AFloodOverGrpcIsUnavailableWithARetryPushback()
    {
        using var repository = Repository(dynamicBatching: false);
        await using var server = await RunningServer.StartAsync(repository.Path, LongWait);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/models/slow/ready")).StatusCode);
        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);

        for (var busyIterations = Busy; ; busyIterations *= 2)
        {
            var busy = client.ModelInferAsync(GrpcRequest(busyIterations, "busy"));
            await Task.Delay(500);
            await WaitForPendingAsync(server, 0);
            var queued = client.ModelInferAsync(GrpcRequest(1, "queued"));
            await WaitForPendingAsync(server, 1);
            await Task.Delay(Backlog);
            var flood = Enumerable.Range(0, Flood).Select(i => client.ModelInferAsync(GrpcRequest(1, $"flood-{i}"))).ToArray();
            var answered = await WaitForAnswersAsync(flood.Select(call => call.ResponseAsync).ToArray(), busy.ResponseAsync);
            var conclusive = !busy.ResponseAsync.IsCompleted;
            var refused = new List<RpcException>();
            var accepted = new List<AsyncUnaryCall<ModelInferResponse>>();
            foreach (var call in flood)
            {
                if (call.ResponseAsync.Exception?.InnerException is RpcException { StatusCode: StatusCode.Unavailable } e)
                {
                    refused.Add(e);
                }
                else
                {
                    accepted.Add(call);
                }
            }

            Assert.Equal("busy", (await busy.ResponseAsync).Id);
            Assert.Equal("queued", (await queued.ResponseAsync).Id);
            foreach (var call in accepted)
            {
                Assert.StartsWith("flood-", (await call.ResponseAsync).Id, StringComparison.Ordinal);
            }
            if (!conclusive && answered > 0 && busyIterations < 8 * Busy)
            {
                continue;
            }
            Assert.True(conclusive, $"the busy request finished before the flood was answered ({answered} of {Flood} answered), even at {busyIterations} iterations");
            Assert.Empty(accepted);
            Assert.Equal(Flood, refused.Count);
            foreach (var e in refused)
            {
                Assert.Contains("is overloaded", e.Status.Detail, StringComparison.Ordinal);
                Assert.Equal("1000", e.Trailers.GetValue("grpc-retry-pushback-ms"));
            }
            return;
        }
    }

    [Fact]
    public async Task WhileAModelShedsARequestIsRefusedBeforeItsBodyIsRead()
    {
        using var repository = Repository(dynamicBatching: false);
        await using var server = await RunningServer.StartAsync(repository.Path, LongWait);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/models/slow/ready")).StatusCode);

        for (var busyIterations = Busy; ; busyIterations *= 2)
        {
            var busy = await StartBusyAsync(server, dynamicBatching: false, busyIterations);
            var rejectedBefore = await RejectedCountAsync(server);
            var queued = server.Client.PostJsonAsync("/v2/models/slow/infer", SlowRequest(dynamicBatching: false, 2));
            await WaitForPendingAsync(server, 1);
            await Task.Delay(Backlog);
            // The first request past a queue that has not drained starts the shedding (its body is read: it could have
            // been admitted until then).
            var (first, firstBody) = await server.Client.PostJsonAsync("/v2/models/slow/infer", SlowRequest(dynamicBatching: false, 1));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, first.StatusCode);

            // The next one declares a body of which it sends only the start, and gets its refusal all the same: the
            // server decided without reading it.
            var body = System.Text.Encoding.UTF8.GetBytes(SlowRequest(dynamicBatching: false, 1));
            using var tcp = new System.Net.Sockets.TcpClient();
            await tcp.ConnectAsync(server.Host.HttpAddress.Host, server.Host.HttpAddress.Port);
            var connection = tcp.GetStream();
            await connection.WriteAsync(InferHead(server.Host.HttpAddress, body.Length));
            await connection.WriteAsync(body.AsMemory(0, 100));
            var (status, headers, text) = await ReadResponseAsync(connection);
            // The rest of the body comes after the refusal: the server reads and drops it, and the connection carries
            // the client's next request (a refused client that keeps its connection costs the server less than one
            // that connects again).
            await connection.WriteAsync(body.AsMemory(100));
            await connection.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"GET /v2/health/live HTTP/1.1\r\nHost: {server.Host.HttpAddress.Authority}\r\n\r\n"));
            var (liveStatus, _, _) = await ReadResponseAsync(connection);
            var conclusive = !busy.IsCompleted;
            Assert.Equal(HttpStatusCode.OK, (await busy).Response.StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await queued).Response.StatusCode);
            if (!conclusive && busyIterations < 8 * Busy)
            {
                continue;
            }
            Assert.True(conclusive, $"the busy request finished before the refusal came, even at {busyIterations} iterations");
            Assert.Equal(503, status);
            Assert.Equal("1", headers["retry-after"]);
            Assert.Equal("application/json", headers["content-type"]);
            Assert.False(headers.ContainsKey("connection"), "a refusal before the body is read keeps the connection");
            var error = JsonNode.Parse(text)!["error"]!.GetValue<string>();
            Assert.Contains("is overloaded", error, StringComparison.Ordinal);
            Assert.Contains("retry later", error, StringComparison.Ordinal);
            // The same message as the refusal after reading (the one that started the shedding).
            Assert.Equal(firstBody!["error"]!.GetValue<string>(), error);
            Assert.Equal(200, liveStatus);
            // Both refusals are counted as rejected, in the metrics and in the model's statistics.
            Assert.Equal(rejectedBefore + 2, await RejectedCountAsync(server));
            return;
        }
    }

    private static byte[] InferHead(Uri server, int length) => System.Text.Encoding.ASCII.GetBytes(
        $"POST /v2/models/slow/infer HTTP/1.1\r\nHost: {server.Authority}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n");

    // Reads one response from a raw HTTP/1.1 connection: status, headers (lower-cased names) and body text.
    private static async Task<(int Status, Dictionary<string, string> Headers, string Body)> ReadResponseAsync(System.Net.Sockets.NetworkStream stream)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var received = new List<byte>();
        var buffer = new byte[4096];
        while (true)
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            Assert.True(read > 0, "the server closed the connection without a response");
            received.AddRange(buffer.AsSpan(0, read));
            var text = System.Text.Encoding.UTF8.GetString(received.ToArray());
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end < 0)
            {
                continue;
            }
            var lines = text[..end].Split("\r\n");
            var headers = lines.Skip(1).Select(line => line.Split(':', 2)).ToDictionary(p => p[0].Trim().ToLowerInvariant(), p => p[1].Trim());
            var length = int.Parse(headers["content-length"], CultureInfo.InvariantCulture);
            if (received.Count - (end + 4) < length)
            {
                continue;
            }
            return (int.Parse(lines[0].Split(' ')[1], CultureInfo.InvariantCulture), headers, text.Substring(end + 4, length));
        }
    }

    [Fact]
    public async Task ABurstThatDrainsIsQueuedWhole()
    {
        // Far more concurrent requests than one batch per instance, at a model that runs them in microseconds.
        using var repository = new TestRepository().AddSample("simple");
        await using var server = await RunningServer.StartAsync(repository.Path);
        var burst = Enumerable.Range(0, 64).Select(async i =>
        {
            var (response, body) = await server.Client.PostJsonAsync("/v2/models/simple/infer", $$"""
                {"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [1, 16], "data": [{{string.Join(",", Enumerable.Repeat(i, 16))}}]},
                            {"name": "INPUT1", "datatype": "INT32", "shape": [1, 16], "data": [{{string.Join(",", Enumerable.Repeat(1, 16))}}]}]}
                """);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var sum = body!["outputs"]!.AsArray().Single(o => o!["name"]!.GetValue<string>() == "OUTPUT0")!;
            Assert.All(sum["data"]!.AsArray(), v => Assert.Equal(i + 1, v!.GetValue<int>()));
        });
        await Task.WhenAll(burst);
        Assert.Equal(0, await RejectedCountAsync(server, "simple"));
    }

    [Fact]
    public async Task ARequestThatWaitsLongerThanItMayIsAnswered503WithoutRunning()
    {
        using var repository = Repository(dynamicBatching: false);
        // The server's default wait, made short so the test does not wait a second.
        await using var server = await RunningServer.StartAsync(repository.Path, ("Server:MaxQueueWaitMilliseconds", "300"));
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/models/slow/ready")).StatusCode);
        var executionsBefore = await ExecutionCountAsync(server);

        var busy = await StartBusyAsync(server, dynamicBatching: false, Busy);
        var (expired, body) = await server.Client.PostJsonAsync("/v2/models/slow/infer", SlowRequest(dynamicBatching: false, 1));
        Assert.False(busy.IsCompleted, "the queued request must have been answered while the instance was still busy");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, expired.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), expired.Headers.RetryAfter?.Delta);
        Assert.Contains("timed out after 300000 µs in the queue", body!["error"]!.GetValue<string>());

        // Its own timeout parameter shortens the wait.
        var (shorter, shorterBody) = await server.Client.PostJsonAsync("/v2/models/slow/infer", SlowRequest(dynamicBatching: false, 1, """, "parameters": {"timeout": 50000}"""));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, shorter.StatusCode);
        Assert.Contains("timed out after 50000 µs in the queue", shorterBody!["error"]!.GetValue<string>());
        Assert.False(busy.IsCompleted, "the queued request must have been answered while the instance was still busy");

        Assert.Equal(HttpStatusCode.OK, (await busy).Response.StatusCode);
        Assert.Equal(executionsBefore + 1, await ExecutionCountAsync(server));
        Assert.Equal(2, await RejectedCountAsync(server));
    }

    // Waits until every request of the flood has its answer, or the busy request ends (the test then has to tell which
    // came first); returns how many were answered.
    private static async Task<int> WaitForAnswersAsync(Task[] flood, Task busy)
    {
        while (!busy.IsCompleted && flood.Count(t => t.IsCompleted) < flood.Length)
        {
            await Task.WhenAny(busy, Task.Delay(10));
        }
        return flood.Count(t => t.IsCompleted);
    }

    [Theory]
    [InlineData("Server:MaxQueueBatches", "-1", "Server:MaxQueueBatches -1 is not valid; expected 0 (unbounded) or more")]
    [InlineData("Server:MaxQueueWaitMilliseconds", "-5", "Server:MaxQueueWaitMilliseconds -5 is not valid; expected 0 (no limit) or more")]
    public void TheServerDefaultsAreCheckedBeforeAnythingStarts(string key, string value, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => ServerHost.Create(new Dictionary<string, string?> { [key] = value }, RepositoryPaths.Root));
        Assert.Equal(message, error.Message);
    }

    private static TestRepository Repository(bool dynamicBatching) => dynamicBatching
        ? new TestRepository().AddFixture("slow", "slow_batch.onnx", WithDynamicBatching)
        : new TestRepository().AddFixture("slow", "slow.onnx", WithoutBatching);

    // The busy request is sent over a connection the client already has open, so it reaches the server at once; half a
    // second later it is surely running, and it runs for seconds more.
    private static async Task<Task<(HttpResponseMessage Response, JsonNode? Body)>> StartBusyAsync(RunningServer server, bool dynamicBatching, long iterations)
    {
        var busy = server.Client.PostJsonAsync("/v2/models/slow/infer", SlowRequest(dynamicBatching, iterations));
        await Task.Delay(500);
        await WaitForPendingAsync(server, 0);
        Assert.False(busy.IsCompleted, "the busy request ended within half a second; raise Busy");
        return busy;
    }

    private static string SlowRequest(bool dynamicBatching, long iterations, string parameters = "")
    {
        var x = string.Join(",", Enumerable.Repeat("0.01", 64 * 64));
        var (xShape, countShape) = dynamicBatching ? ("[1, 64, 64]", "[1, 1]") : ("[64, 64]", "[1]");
        return $$"""
            {"inputs": [{"name": "X", "datatype": "FP32", "shape": {{xShape}}, "data": [{{x}}]},
                        {"name": "ITERATIONS", "datatype": "INT64", "shape": {{countShape}}, "data": [{{iterations}}]}]{{parameters}}}
            """;
    }

    private static StringContent Json(string body) => new(body, System.Text.Encoding.UTF8, "application/json");

    private static ModelInferRequest GrpcRequest(long iterations, string id)
    {
        var request = new ModelInferRequest { ModelName = "slow", Id = id };
        var x = new ModelInferRequest.Types.InferInputTensor { Name = "X", Datatype = "FP32" };
        x.Shape.AddRange([64, 64]);
        var count = new ModelInferRequest.Types.InferInputTensor { Name = "ITERATIONS", Datatype = "INT64" };
        count.Shape.AddRange([1]);
        request.Inputs.Add(x);
        request.Inputs.Add(count);
        var values = new byte[64 * 64 * 4];
        for (var i = 0; i < 64 * 64; i++)
        {
            BitConverter.TryWriteBytes(values.AsSpan(i * 4), 0.01f);
        }
        request.RawInputContents.Add(ByteString.CopyFrom(values));
        request.RawInputContents.Add(ByteString.CopyFrom(BitConverter.GetBytes(iterations)));
        return request;
    }

    // X is 0.01 everywhere, so every element of Y is the same: v ← tanh(64 v²), ITERATIONS times.
    private static void AssertOutput(JsonNode? body, long iterations)
    {
        var expected = 0.01;
        for (var i = 0; i < iterations; i++)
        {
            expected = Math.Tanh(64 * expected * expected);
        }
        var data = body!["outputs"]![0]!["data"]!.AsArray();
        Assert.Equal(64 * 64, data.Count);
        Assert.All(data, v => Assert.True(Math.Abs(expected - v!.GetValue<double>()) < 1e-6, $"expected {expected}, got {v}"));
    }

    private static async Task<long> ExecutionCountAsync(RunningServer server)
    {
        var (_, stats) = await server.Client.GetJsonAsync("/v2/models/slow/stats");
        return stats!["model_stats"]![0]!["execution_count"]!.GetValue<long>();
    }

    private static async Task<HealthCheckResponse.Types.ServingStatus> GrpcHealthAsync(RunningServer server)
    {
        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        var response = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest { Service = GRPCInferenceService.Descriptor.FullName });
        return response.Status;
    }

    private static async Task WaitForPendingAsync(RunningServer server, int expected)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        string? last = null;
        while (DateTime.UtcNow < deadline)
        {
            var metrics = await server.MetricsClient.GetStringAsync("/metrics");
            var match = PendingCount().Match(metrics);
            last = match.Success ? match.Groups[1].Value : null;
            if (int.Parse(last ?? "0", CultureInfo.InvariantCulture) == expected)
            {
                return;
            }
            await Task.Delay(10);
        }
        Assert.Fail($"pending requests of 'slow' never reached {expected} (last seen: {last ?? "none"})");
    }

    // nv_inference_request_failure{reason="REJECTED"} of a model; a series not yet written counts 0.
    private static async Task<long> RejectedCountAsync(RunningServer server, string model = "slow")
    {
        var metrics = await server.MetricsClient.GetStringAsync("/metrics");
        var match = Regex.Match(metrics, $"^nv_inference_request_failure\\{{model=\"{model}\",reason=\"REJECTED\",version=\"1\"\\}} (\\d+)$", RegexOptions.Multiline);
        return match.Success ? long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    [GeneratedRegex("^nv_inference_pending_request_count\\{model=\"slow\",version=\"1\"\\} (\\d+)", RegexOptions.Multiline)]
    private static partial Regex PendingCount();
}
