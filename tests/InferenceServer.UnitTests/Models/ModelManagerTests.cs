using InferenceServer.Core.Inference;
using InferenceServer.Core.Models;
using InferenceServer.UnitTests.TestDoubles;
using Microsoft.Extensions.Logging.Abstractions;

namespace InferenceServer.UnitTests.Models;

/// <summary>The model manager over a fake backend: load concurrency, per-model serialization, snapshots.</summary>
public sealed class ModelManagerTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private const string Config = """
        backend: "fake"
        max_batch_size: 4
        input [ { name: "INPUT0" data_type: TYPE_INT32 dims: [ -1 ] } ]
        output [ { name: "OUTPUT0" data_type: TYPE_INT32 dims: [ -1 ] } ]
        """;

    private readonly string _repository = Path.Combine(Path.GetTempPath(), "inference-server-tests", Guid.NewGuid().ToString("N"));

    public void Dispose() => Directory.Delete(_repository, recursive: true);

    private void AddModel(string name, params int[] versions)
    {
        Directory.CreateDirectory(Path.Combine(_repository, name));
        File.WriteAllText(Path.Combine(_repository, name, "config.pbtxt"), Config);
        foreach (var version in versions)
        {
            var folder = Path.Combine(_repository, name, version.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, "model.fake"), "weights");
        }
    }

    private ModelManager Manager(GatedBackend backend, ModelControlMode mode, int loadThreads = 4, params string[] load)
    {
        var options = new ModelManagerOptions { ModelRepositories = [_repository], ModelControlMode = mode, ModelLoadThreadCount = loadThreads, LoadModels = load };
        var loader = new ModelLoader([backend], options, NullLogger<ModelLoader>.Instance);
        return new ModelManager(loader, options, NullLogger<ModelManager>.Instance);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(5);
        }
    }

    [Fact]
    public async Task Startup_loads_run_in_parallel_up_to_the_load_thread_count()
    {
        foreach (var name in new[] { "a", "b", "c", "d", "e" })
        {
            AddModel(name, 1);
        }
        var backend = new GatedBackend(open: false);
        await using var manager = Manager(backend, ModelControlMode.None, loadThreads: 2);

        var startup = manager.LoadRepositoryAsync(CancellationToken.None);
        await WaitUntil(() => backend.Running == 2);
        await Task.Delay(100);
        Assert.Equal(2, backend.Running);
        Assert.Empty(manager.Models);
        backend.Open();
        await startup.WaitAsync(Patience);

        Assert.Equal(2, backend.MostConcurrent);
        Assert.Equal(5, manager.Models.Count);
        Assert.All(manager.Models.Values, e => Assert.Equal(ModelState.Ready, e.Versions[1].State));
    }

    [Fact]
    public async Task Loads_of_one_model_are_serialized_and_readers_see_the_old_snapshot_until_the_new_one_is_whole()
    {
        AddModel("m", 1);
        var backend = new GatedBackend();
        await using var manager = Manager(backend, ModelControlMode.Explicit, load: "m");
        await manager.LoadRepositoryAsync(CancellationToken.None);
        var first = manager.Resolve("m", null);

        AddModel("m", 2);
        backend.Close();
        var loadTwo = manager.LoadModelAsync("m", null, CancellationToken.None);
        await WaitUntil(() => backend.Running == 1);
        var loadAgain = manager.LoadModelAsync("m", null, CancellationToken.None);
        await Task.Delay(100);
        // The second load waits for the first; requests still see version 1 until version 2 is whole.
        Assert.Equal(1, backend.Running);
        Assert.Same(first, manager.Resolve("m", null));
        backend.Open();
        await Task.WhenAll(loadTwo, loadAgain).WaitAsync(Patience);
        Assert.Equal(1, backend.MostConcurrent);

        var second = manager.Resolve("m", null);
        Assert.Equal(2, second.Version);
        // The second load found nothing changed: it kept version 2 as it was.
        Assert.Same(second, manager.Resolve("m", "2"));
        await WaitUntil(() => first.State == ModelState.Unavailable);
        Assert.Equal("unloaded", first.Reason);
    }

    [Fact]
    public async Task Unload_takes_the_model_away_and_the_index_keeps_its_final_state()
    {
        AddModel("m", 1);
        await using var manager = Manager(new GatedBackend(), ModelControlMode.Explicit, load: "m");
        await manager.LoadRepositoryAsync(CancellationToken.None);
        var version = manager.Resolve("m", null);

        await manager.UnloadModelAsync("m", unloadDependents: false, CancellationToken.None);

        Assert.Equal(ModelState.Unavailable, version.State);
        var error = Assert.Throws<InferenceException>(() => manager.Resolve("m", null));
        Assert.Equal(InferenceErrorKind.NotFound, error.Kind);
        Assert.Contains(manager.Index(), r => r is { Name: "m", Version: "1", State: ModelState.Unavailable, Reason: "unloaded" });
        // Unloading again is a no-op; an unknown model is NotFound.
        await manager.UnloadModelAsync("m", unloadDependents: true, CancellationToken.None);
        var unknown = await Assert.ThrowsAsync<InferenceException>(() => manager.UnloadModelAsync("nope", false, CancellationToken.None));
        Assert.Equal(InferenceErrorKind.NotFound, unknown.Kind);
    }

    [Theory]
    [InlineData(ModelControlMode.None)]
    [InlineData(ModelControlMode.Poll)]
    public async Task Load_and_unload_are_unavailable_unless_explicit(ModelControlMode mode)
    {
        AddModel("m", 1);
        await using var manager = Manager(new GatedBackend(), mode);
        await manager.LoadRepositoryAsync(CancellationToken.None);

        var load = await Assert.ThrowsAsync<InferenceException>(() => manager.LoadModelAsync("m", null, CancellationToken.None));
        var unload = await Assert.ThrowsAsync<InferenceException>(() => manager.UnloadModelAsync("m", false, CancellationToken.None));
        Assert.All([load, unload], e =>
        {
            Assert.Equal(InferenceErrorKind.Unavailable, e.Kind);
            Assert.StartsWith("explicit model load / unload is not allowed if polling is enabled", e.Message, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task Bad_overrides_are_invalid_arguments()
    {
        AddModel("m", 1);
        await using var manager = Manager(new GatedBackend(), ModelControlMode.Explicit);
        await manager.LoadRepositoryAsync(CancellationToken.None);
        var files = new Dictionary<string, ReadOnlyMemory<byte>> { ["1/../x"] = "w"u8.ToArray() };

        var noConfig = await Assert.ThrowsAsync<InferenceException>(() => manager.LoadModelAsync("m", new ModelLoadOverrides(null, files), CancellationToken.None));
        var badPath = await Assert.ThrowsAsync<InferenceException>(() => manager.LoadModelAsync("m", new ModelLoadOverrides("{}", files), CancellationToken.None));
        var badConfig = await Assert.ThrowsAsync<InferenceException>(() => manager.LoadModelAsync("m", new ModelLoadOverrides("{\"max_batch_size\": -1}", new Dictionary<string, ReadOnlyMemory<byte>>()), CancellationToken.None));
        var badName = await Assert.ThrowsAsync<InferenceException>(() => manager.LoadModelAsync("../m", null, CancellationToken.None));

        Assert.All([noConfig, badPath, badConfig, badName], e => Assert.Equal(InferenceErrorKind.InvalidArgument, e.Kind));
        Assert.Contains("'config' parameter", noConfig.Message);
        Assert.Contains("'..' segment", badPath.Message);
        Assert.Contains("max_batch_size", badConfig.Message);
    }
}
