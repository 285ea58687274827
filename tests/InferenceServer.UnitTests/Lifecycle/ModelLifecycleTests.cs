using InferenceServer.Core.Inference;
using InferenceServer.Core.Lifecycle;
using InferenceServer.Core.Models;
using InferenceServer.UnitTests.TestDoubles;

namespace InferenceServer.UnitTests.Lifecycle;

/// <summary>The lifecycle behind the front door, over a fake backend: load concurrency, per-model serialization, snapshots.</summary>
public sealed class ModelLifecycleTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly FakeModelRepository _repository = new();

    public void Dispose() => _repository.Dispose();

    private void AddModel(string name, params int[] versions) => _repository.Add(name, versions);

    private ServingCore Manager(GatedBackend backend, ModelControlMode mode, int loadThreads = 4, params string[] load) =>
        new(backend, new ModelLifecycleOptions { ModelRepositories = [_repository.Path], ModelControlMode = mode, ModelLoadThreadCount = loadThreads, LoadModels = load });

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

        var startup = manager.Door.StartAsync(CancellationToken.None);
        await WaitUntil(() => backend.Running == 2);
        await Task.Delay(100);
        Assert.Equal(2, backend.Running);
        Assert.Empty(manager.Registry.Snapshot.Models);
        backend.Open();
        await startup.WaitAsync(Patience);

        Assert.Equal(2, backend.MostConcurrent);
        Assert.Equal(5, manager.Registry.Snapshot.Models.Count);
        Assert.All(manager.Registry.Snapshot.Models.Values, e => Assert.Equal(ModelState.Ready, e.Versions[1].State));
    }

    [Fact]
    public async Task Loads_of_one_model_are_serialized_and_readers_see_the_old_snapshot_until_the_new_one_is_whole()
    {
        AddModel("m", 1);
        var backend = new GatedBackend();
        await using var manager = Manager(backend, ModelControlMode.Explicit, load: "m");
        await manager.Door.StartAsync(CancellationToken.None);
        var first = manager.Resolve("m", null);

        AddModel("m", 2);
        backend.Close();
        var loadTwo = manager.Door.LoadModelAsync("m", null, CancellationToken.None);
        await WaitUntil(() => backend.Running == 1);
        var loadAgain = manager.Door.LoadModelAsync("m", null, CancellationToken.None);
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
        await manager.Door.StartAsync(CancellationToken.None);
        var version = manager.Resolve("m", null);

        await manager.Door.UnloadModelAsync("m", unloadDependents: false, CancellationToken.None);

        Assert.Equal(ModelState.Unavailable, version.State);
        var error = Assert.Throws<InferenceException>(() => manager.Resolve("m", null));
        Assert.Equal(InferenceErrorKind.NotFound, error.Kind);
        Assert.Contains(manager.Door.RepositoryIndex(), r => r is { Name: "m", Version: "1", State: ModelState.Unavailable, Reason: "unloaded" });
        // Unloading again is a no-op; an unknown model is NotFound.
        await manager.Door.UnloadModelAsync("m", unloadDependents: true, CancellationToken.None);
        var unknown = await Assert.ThrowsAsync<InferenceException>(() => manager.Door.UnloadModelAsync("nope", false, CancellationToken.None));
        Assert.Equal(InferenceErrorKind.NotFound, unknown.Kind);
    }

    [Theory]
    [InlineData(ModelControlMode.None)]
    [InlineData(ModelControlMode.Poll)]
    public async Task Load_and_unload_are_unavailable_unless_explicit(ModelControlMode mode)
    {
        AddModel("m", 1);
        await using var manager = Manager(new GatedBackend(), mode);
        await manager.Door.StartAsync(CancellationToken.None);

        var load = await Assert.ThrowsAsync<InferenceException>(() => manager.Door.LoadModelAsync("m", null, CancellationToken.None));
        var unload = await Assert.ThrowsAsync<InferenceException>(() => manager.Door.UnloadModelAsync("m", false, CancellationToken.None));
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
        await manager.Door.StartAsync(CancellationToken.None);
        using var files = manager.Door.BeginUpload("m");

        var badPath = Assert.Throws<InferenceException>(() => files.AddFile("1/../x", "w"u8));
        files.AddFile("1/x", "w"u8);
        var noConfig = await Assert.ThrowsAsync<InferenceException>(() => manager.Door.LoadModelAsync("m", new ModelLoadOverrides(null, files), CancellationToken.None));
        var badConfig = await Assert.ThrowsAsync<InferenceException>(() => manager.Door.LoadModelAsync("m", new ModelLoadOverrides("{\"max_batch_size\": -1}", null), CancellationToken.None));
        var badName = await Assert.ThrowsAsync<InferenceException>(() => manager.Door.LoadModelAsync("../m", null, CancellationToken.None));

        Assert.All([noConfig, badPath, badConfig, badName], e => Assert.Equal(InferenceErrorKind.InvalidArgument, e.Kind));
        Assert.Contains("'config' parameter", noConfig.Message);
        Assert.Contains("'..' segment", badPath.Message);
        Assert.Contains("max_batch_size", badConfig.Message);
    }

    // The rows as states and reasons; what each version holds is the residency's, tested there.
    private static ModelIndexEntry[] WithoutMemory(IEnumerable<ModelIndexEntry> rows) => rows.Select(r => r with { Memory = null }).ToArray();

    [Fact]
    public async Task The_index_reads_the_registry_which_the_lifecycle_keeps_up_to_date_with_the_repository()
    {
        AddModel("a", 1);
        AddModel("b", 1);
        var backend = new GatedBackend();
        await using var manager = Manager(backend, ModelControlMode.Explicit, load: "a");
        await manager.Door.StartAsync(CancellationToken.None);

        Assert.Equal(
            [new ModelIndexEntry("a", "1", ModelState.Ready, ""), new ModelIndexEntry("b", "", ModelState.Unavailable, "not loaded")],
            WithoutMemory(manager.Door.RepositoryIndex()));

        // The registry answers alone: a folder gone from the disk is still listed until the lifecycle looks again.
        Directory.Delete(Path.Combine(_repository.Path, "b"), recursive: true);
        AddModel("c", 1);
        Assert.Contains(manager.Registry.Index(), r => r.Name == "b");
        Assert.DoesNotContain(manager.Registry.Index(), r => r.Name == "c");

        // The index call has the lifecycle record the repository first, as Triton's index rescans it.
        Assert.Equal(
            [new ModelIndexEntry("a", "1", ModelState.Ready, ""), new ModelIndexEntry("c", "", ModelState.Unavailable, "not loaded")],
            WithoutMemory(manager.Door.RepositoryIndex()));
        Assert.Single(backend.Created);
        // Looking again at an unchanged repository swaps nothing.
        var generation = manager.Registry.Snapshot.Generation;
        manager.Door.RepositoryIndex();
        Assert.Equal(generation, manager.Registry.Snapshot.Generation);
    }

    [Fact]
    public async Task Instances_report_their_memory_and_the_registry_sums_it_per_version_and_model()
    {
        const string ThreeInstances = FakeModelRepository.Config + """

            version_policy: { all: {} }
            instance_group [ { count: 3, kind: KIND_CPU } ]
            """;
        _repository.Add("m", ThreeInstances, 1, 2);
        AddModel("other", 1);
        var backend = new GatedBackend { InstanceMemoryBytes = 1000 };
        await using var manager = Manager(backend, ModelControlMode.Explicit, load: ["m", "other"]);
        await manager.Door.StartAsync(CancellationToken.None);

        Assert.Equal(3000, manager.Resolve("m", "1").MemoryBytes);
        Assert.Equal(6000, manager.Registry.MemoryBytes("m"));
        Assert.Equal(7000, manager.Registry.MemoryBytes());

        // Resized in place to one instance per version: the report follows the instances that remain.
        _repository.Add("m", ThreeInstances.Replace("count: 3", "count: 1", StringComparison.Ordinal));
        var version = manager.Resolve("m", "1");
        await manager.Door.LoadModelAsync("m", null, CancellationToken.None);
        Assert.Same(version, manager.Resolve("m", "1"));
        Assert.Equal(2000, manager.Registry.MemoryBytes("m"));

        // Unloaded: once the versions have released their instances they hold nothing.
        await manager.Door.UnloadModelAsync("m", unloadDependents: false, CancellationToken.None);
        Assert.Equal(0, manager.Registry.MemoryBytes("m"));
        Assert.Equal(1000, manager.Registry.MemoryBytes());
    }
}
