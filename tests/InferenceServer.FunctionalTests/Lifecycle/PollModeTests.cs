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
        using var repository = new TestRepository().AddFixture("slow", "slow.onnx", SlowConfig, 1);
        await using var server = await RunningServer.StartAsync(repository.Path, FastPoll);

        var stop = new CancellationTokenSource();
        var failures = new ConcurrentBag<string>();
        var answers = new ConcurrentQueue<(string Version, DateTime At)>();
        var clients = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var (response, body) = await server.Client.PostJsonAsync("/v2/models/slow/infer", SlowRequest(30_000));
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    failures.Add($"{response.StatusCode}: {body?.ToJsonString()}");
                    continue;
                }
                answers.Enqueue((body!["model_version"]!.GetValue<string>(), DateTime.UtcNow));
            }
        })).ToArray();
        while (answers.IsEmpty && failures.IsEmpty)
        {
            await Task.Delay(20);
        }

        repository.AddVersion("slow", 2, TestRepository.Fixture("slow.onnx"));
        await WaitForStateAsync(server.Client, "slow/2", "READY");
        var swapSeen = DateTime.UtcNow;
        var (_, reason) = await WaitForStateAsync(server.Client, "slow/1", "UNAVAILABLE");
        // Let the new version answer a few requests too.
        var answered = answers.Count;
        while (answers.Count < answered + 8 && failures.IsEmpty)
        {
            await Task.Delay(20);
        }
        await stop.CancelAsync();
        await Task.WhenAll(clients);

        Assert.Empty(failures);
        Assert.Equal("unloaded", reason);
        Assert.Contains(answers, a => a.Version == "2");
        // Requests were queued on version 1's only instance when it was retired: they still ran there
        // and answered after version 2 had taken over.
        Assert.Contains(answers, a => a.Version == "1" && a.At > swapSeen);
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
        var version = server.Host.Models.Models["m"].Versions[1];
        Assert.Equal(1, version.InstanceCount);

        await File.WriteAllTextAsync(configPath, AddSubConfig + "instance_group [ { count: 3 kind: KIND_CPU } ]");
        await WaitUntilAsync(() => version.InstanceCount == 3, "the instance count to grow to 3");
        Assert.Same(version, server.Host.Models.Models["m"].Versions[1]);
        Assert.Equal("1", await InferAddSubAsync(server.Client, "m"));

        await File.WriteAllTextAsync(configPath, "max_batch_size: {");
        var (_, reason) = await WaitForStateAsync(server.Client, "m/-", "UNAVAILABLE");
        Assert.Contains("config.pbtxt", reason);
        Assert.Equal("1", await InferAddSubAsync(server.Client, "m"));
        Assert.Same(version, server.Host.Models.Models["m"].Versions[1]);

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
