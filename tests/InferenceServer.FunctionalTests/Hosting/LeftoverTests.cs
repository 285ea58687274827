using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace InferenceServer.FunctionalTests.Hosting;

/// <summary>
/// What a server leaves behind when it stops: a server killed with uploaded models loaded leaves their files, which
/// the next start removes (and only those of servers that are gone); and a request sent on a keep-alive connection just
/// after SIGTERM is answered, not lost.
/// </summary>
[Collection(TimingSensitive.Name)]
public sealed class LeftoverTests
{
    private static readonly string[] FreePorts = ["--http-address", "127.0.0.1", "--http-port", "0", "--grpc-port", "0", "--metrics-port", "0"];

    private const string AddSubJson = """
        {"name": "m", "backend": "onnxruntime", "maxBatchSize": 4,
         "input": [{"name": "INPUT0", "data_type": "TYPE_INT32", "dims": ["16"]}, {"name": "INPUT1", "data_type": "TYPE_INT32", "dims": [16]}],
         "output": [{"name": "OUTPUT0", "data_type": "TYPE_INT32", "dims": [16]}, {"name": "OUTPUT1", "data_type": "TYPE_INT32", "dims": [16]}]}
        """;

    [Fact]
    public async Task UploadFoldersOfAKilledServerAreRemovedAtTheNextStartAndThoseOfARunningOneAreKept()
    {
        using var repository = new TestRepository();
        using var uploads = new TestRepository();
        var environment = new Dictionary<string, string> { ["Server__UploadDirectory"] = uploads.Path };
        string[] args = ["serve", "--model-repository", repository.Path, "--model-control-mode", "explicit", .. FreePorts];
        // Someone else's folder in the same place, and one named like ours whose process is this test's: both stay.
        var foreign = Directory.CreateDirectory(Path.Combine(uploads.Path, "not-ours")).FullName;
        var running = Directory.CreateDirectory(Path.Combine(uploads.Path, $"upload-{Environment.ProcessId}-{Guid.NewGuid():N}")).FullName;

        using (var killed = ServerProcess.Start(args, environment))
        {
            using var client = await killed.HttpClientAsync();
            var body = JsonSerializer.Serialize(new { parameters = new Dictionary<string, string> { ["config"] = AddSubJson, ["file:1/model.onnx"] = Convert.ToBase64String(TestRepository.Fixture("add_sub.onnx")) } });
            var load = await client.PostAsync("/v2/repository/models/m/load", new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, load.StatusCode);
            Assert.Equal(3, Directory.GetDirectories(uploads.Path).Length);
            killed.KillHard();
            await killed.WaitForExitAsync();
        }
        var left = Assert.Single(Directory.GetDirectories(uploads.Path), d => d != foreign && d != running);

        using var next = ServerProcess.Start(args, environment);
        await next.WaitForOutputAsync(new Regex("Removed 1 folder\\(s\\) of uploaded model files"));

        Assert.False(Directory.Exists(left), "the killed server's upload folder is still there");
        Assert.True(Directory.Exists(foreign));
        Assert.True(Directory.Exists(running));
    }

    [Fact]
    public async Task RequestsSentOnKeepAliveConnectionsJustAfterSigtermAreAnswered()
    {
        const int Connections = 37;
        using var repository = new TestRepository().AddSample("simple");
        // A drain longer than the default, so a loaded test machine still sends every request inside it.
        using var server = ServerProcess.Start(["serve", "--model-repository", repository.Path, .. FreePorts, "--shutdown-drain-ms", "10000"]);
        using var probe = await server.HttpClientAsync();
        await server.WaitForOutputAsync(new Regex("Ready: serving"));
        // One client per connection, each connection open and idle (keep-alive) when the signal comes.
        var clients = Enumerable.Range(0, Connections)
            .Select(_ => new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1 }) { BaseAddress = probe.BaseAddress })
            .ToList();
        try
        {
            foreach (var client in clients)
            {
                Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v2/health/live")).StatusCode);
            }

            server.Terminate();
            await server.WaitForOutputAsync(new Regex("Draining"));
            // The last client's request is malformed: an error answer (which replaces the answer's headers) closes too.
            var answers = await Task.WhenAll(clients.Select((c, i) => c.PostAsync("/v2/models/simple/infer", i == Connections - 1 ? Malformed() : Infer())));

            Assert.All(answers.SkipLast(1), a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
            Assert.Equal(HttpStatusCode.BadRequest, answers[^1].StatusCode);
            // Each connection closes cleanly after its answer.
            Assert.All(answers, a => Assert.True(a.Headers.ConnectionClose, $"an answer ({(int)a.StatusCode}) during the drain did not close its connection"));
            Assert.Equal(0, await server.WaitForExitAsync());
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    private static StringContent Malformed()
    {
        var content = new StringContent("""{"inputs": [""");
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    private static StringContent Infer()
    {
        var row = string.Join(",", Enumerable.Repeat(1, 16));
        var content = new StringContent($$"""{"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [1, 16], "data": [{{row}}]}, {"name": "INPUT1", "datatype": "INT32", "shape": [1, 16], "data": [{{row}}]}]}""");
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }
}
