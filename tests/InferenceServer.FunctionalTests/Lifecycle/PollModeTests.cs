using System.Collections.Concurrent;
using System.Net;
using InferenceServer.FunctionalTests.Http;
using static InferenceServer.FunctionalTests.Lifecycle.Lifecycle;

namespace InferenceServer.FunctionalTests.Lifecycle;

/// <summary>
/// Poll mode against a real server: the repository changes on disk while requests flow, and the
/// server follows, never loading a folder that is still being written and never failing a request.
/// </summary>
[Collection(TimingSensitive.Name)]
public sealed class PollModeTests
{
    [Fact]
    public async Task ANewVersionIsPickedUpAndTheOldOneRetiresWithoutFailingARequestInFlight()
    {
        // Two instances: one runs a long request while the other serves the steady traffic.
        using var repository = new TestRepository().AddFixture("slow", "slow.onnx", SlowConfig + "instance_group [ { count: 2 kind: KIND_CPU } ]", 1);
        await using var server = await RunningServer.StartAsync(repository.Path, FastPoll);

        using var stop = new CancellationTokenSource();
        var failures = new ConcurrentBag<string>();
        var answers = new ConcurrentQueue<string>();
        var clients = Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var (response, body) = await server.Client.PostJsonAsync("/v2/models/slow/infer", SlowRequest(10_000));
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    failures.Add($"{response.StatusCode}: {body?.ToJsonString()}");
                    continue;
                }
                answers.Enqueue(body!["model_version"]!.GetValue<string>());
            }
        })).ToArray();
        // Seconds of work on version 1, in flight while version 2 arrives.
        var inFlight = server.Client.PostJsonAsync("/v2/models/slow/infer", SlowRequest(800_000));
        await PollModeTests.WaitUntilAsync(() => server.Version("slow", 1).Statistics!.PendingRequests == 0 && answers.Count > 2, "the long request to start");

        repository.AddVersion("slow", 2, TestRepository.Fixture("slow.onnx"));
        await WaitForStateAsync(server.Client, "slow/2", "READY");
        Assert.False(inFlight.IsCompleted, "the long request should still run when version 2 takes over");
        // Retired but still finishing what it accepted.
        Assert.Equal("UNLOADING", (await IndexAsync(server.Client))["slow/1"].State);

        var (response, body) = await inFlight;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("1", body!["model_version"]!.GetValue<string>());
        var (_, reason) = await WaitForStateAsync(server.Client, "slow/1", "UNAVAILABLE");
        Assert.Equal("unloaded", reason);
        var answered = answers.Count;
        await PollModeTests.WaitUntilAsync(() => answers.Count > answered + 4 || !failures.IsEmpty, "version 2 to answer");
        await stop.CancelAsync();
        await Task.WhenAll(clients);

        Assert.Empty(failures);
        Assert.Contains("1", answers);
        Assert.Contains("2", answers);
    }

    [Fact]
    public async Task AVersionFolderStillBeingWrittenIsNotLoaded()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig, 1);
        // A quiet interval much longer than the gaps between writes below.
        await using var server = await RunningServer.StartAsync(repository.Path,
            ("Server:ModelControlMode", "poll"), ("Server:RepositoryPollSeconds", "1"), ("Server:RepositoryPollQuietMilliseconds", "1500"));

        var model = TestRepository.Fixture("add_sub.onnx");
        var folder = Path.Combine(repository.Path, "m", "2");
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, "model.onnx");
        // A slow copy: a chunk every 150 ms for about 4.5 s, three times the quiet interval.
        const int chunks = 30;
        var chunk = model.Length / chunks;
        using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.ReadWrite))
        {
            for (var i = 0; i < chunks; i++)
            {
                var offset = i * chunk;
                file.Write(model, offset, i == chunks - 1 ? model.Length - offset : chunk);
                file.Flush();
                var index = await IndexAsync(server.Client);
                Assert.False(index.ContainsKey("m/2"), $"version 2 was acted on while {offset} of {model.Length} bytes were written: {index.GetValueOrDefault("m/2")}");
                Assert.Equal("1", await InferAddSubAsync(server.Client, "m"));
                await Task.Delay(150);
            }
        }

        await WaitForStateAsync(server.Client, "m/2", "READY");
        Assert.Equal("2", await InferAddSubAsync(server.Client, "m"));
        await WaitForStateAsync(server.Client, "m/1", "UNAVAILABLE");
    }

    [Fact]
    public async Task WithAMarkerAFolderLoadsOnlyOnceTheMarkerIsWritten()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig, 1);
        await using var server = await RunningServer.StartAsync(repository.Path, [.. FastPoll, ("Server:RepositoryPollMarker", "DONE")]);
        // The startup load took version 1 without its marker; only later folders wait for one.
        Assert.Equal("1", await InferAddSubAsync(server.Client, "m"));

        var folder = repository.AddVersion("m", 2, TestRepository.Fixture("add_sub.onnx"));
        await Task.Delay(1500);
        Assert.False((await IndexAsync(server.Client)).ContainsKey("m/2"), "version 2 has no marker yet");

        await File.WriteAllTextAsync(Path.Combine(folder, "DONE"), "");
        await WaitForStateAsync(server.Client, "m/2", "READY");
        Assert.Equal("2", await InferAddSubAsync(server.Client, "m"));
    }

    [Fact]
    public async Task ACorruptNewVersionFailsWithItsReasonWhileTheOldOneKeepsServing()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig, 1);
        await using var server = await RunningServer.StartAsync(repository.Path, FastPoll);

        repository.AddVersion("m", 2, "this is not an onnx model"u8.ToArray());
        var (_, reason) = await WaitForStateAsync(server.Client, "m/2", "UNAVAILABLE");
        Assert.Contains("failed to load", reason);
        Assert.Equal("READY", (await IndexAsync(server.Client))["m/1"].State);
        Assert.Equal("1", await InferAddSubAsync(server.Client, "m"));

        // Fixed in place: the next complete state of the folder is loaded and replaces version 1.
        repository.AddVersion("m", 2, TestRepository.Fixture("add_sub.onnx"));
        await WaitForStateAsync(server.Client, "m/2", "READY");
        Assert.Equal("2", await InferAddSubAsync(server.Client, "m"));
    }

    [Fact]
    public async Task ABrokenConfigKeepsTheServingVersionsAndAChangedInstanceCountResizesInPlace()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig + "instance_group [ { count: 1 kind: KIND_CPU } ]", 1);
        await using var server = await RunningServer.StartAsync(repository.Path, FastPoll);
        var configPath = Path.Combine(repository.Path, "m", "config.pbtxt");
        var version = server.Version("m", 1);
        Assert.Equal(1, version.InstanceCount);

        await File.WriteAllTextAsync(configPath, AddSubConfig + "instance_group [ { count: 3 kind: KIND_CPU } ]");
        await WaitUntilAsync(() => version.InstanceCount == 3, "the instance count to grow to 3");
        Assert.Same(version, server.Version("m", 1));
        Assert.Equal("1", await InferAddSubAsync(server.Client, "m"));

        await File.WriteAllTextAsync(configPath, "max_batch_size: {");
        var (_, reason) = await WaitForStateAsync(server.Client, "m/-", "UNAVAILABLE");
        Assert.Contains("config.pbtxt", reason);
        Assert.Equal("1", await InferAddSubAsync(server.Client, "m"));
        Assert.Same(version, server.Version("m", 1));

        Directory.Delete(Path.Combine(repository.Path, "m"), recursive: true);
        await WaitForStateAsync(server.Client, "m/1", "UNAVAILABLE");
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.GetAsync("/v2/models/m/ready")).StatusCode);
    }

    internal static async Task WaitUntilAsync(Func<bool> condition, string what, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }
}
