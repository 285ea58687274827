using InferenceServer.Core.Inference;
using InferenceServer.Core.Lifecycle;
using InferenceServer.Core.Models;
using InferenceServer.UnitTests.TestDoubles;

namespace InferenceServer.UnitTests.Lifecycle;

/// <summary>
/// routing.pbtxt through the lifecycle, over a fake backend: read at startup and by the repository API, published in the
/// registry, refused with the reader's message without touching what serves, and listed by the index.
/// </summary>
public sealed class RouteLifecycleTests : IDisposable
{
    // Two versions of m serving at once, so a route can split them.
    private const string BothVersions = FakeModelRepository.Config + "\nversion_policy: { all: {} }\n";

    private const string Canary = """
        variant { name: "stable" version: 1 weight: 90 }
        variant { name: "canary" version: 2 weight: 10 }
        """;

    private const string AB = """
        variant { name: "a" model: "m" weight: 50 }
        variant { name: "b" model: "other" weight: 50 }
        """;

    private readonly FakeModelRepository _repository = new();

    public void Dispose() => _repository.Dispose();

    private ServingCore Start(ModelControlMode mode, params string[] load) =>
        new(new GatedBackend(), new ModelLifecycleOptions { ModelRepositories = [_repository.Path], ModelControlMode = mode, LoadModels = load });

    [Fact]
    public async Task Startup_publishes_the_routes_beside_models_and_of_their_own_folders()
    {
        _repository.Add("m", BothVersions, 1, 2).AddRoute("m", Canary).Add("other", 1).AddRoute("ab", AB);
        await using var core = Start(ModelControlMode.None);
        await core.Door.StartAsync(CancellationToken.None);

        var routes = core.Registry.Snapshot.Routes;
        Assert.True(routes["m"].BesideModel);
        Assert.Equal(["m", "m"], routes["m"].Config.Variant.Select(v => v.Model));
        Assert.False(routes["ab"].BesideModel);
        Assert.Equal(["m", "other"], routes["ab"].Config.Variant.Select(v => v.Model));
        // A route of its own folder is not a model: it did not fail to load for want of versions.
        Assert.False(core.Registry.Snapshot.Models.ContainsKey("ab"));
        Assert.Empty(core.Door.StartupFailures());
        Assert.True(core.Door.IsReady);
        Assert.Equal(
            [
                new ModelIndexEntry("ab", "", ModelState.Ready, ""),
                new ModelIndexEntry("m", "1", ModelState.Ready, ""),
                new ModelIndexEntry("m", "2", ModelState.Ready, ""),
                new ModelIndexEntry("other", "1", ModelState.Ready, ""),
            ],
            core.Door.RepositoryIndex().Select(r => r with { Memory = null }));
    }

    [Fact]
    public async Task A_bad_routing_file_beside_a_model_fails_its_load_with_the_readers_message()
    {
        _repository.Add("m", BothVersions, 1, 2).AddRoute("m", Canary.Replace("\"canary\"", "\"stable\"", StringComparison.Ordinal));
        var backend = new GatedBackend();
        await using var core = new ServingCore(backend, new ModelLifecycleOptions { ModelRepositories = [_repository.Path] });
        await core.Door.StartAsync(CancellationToken.None);

        // Nothing of the folder loads: its versions would otherwise take all the traffic the route meant to split.
        var entry = core.Registry.Snapshot.Models["m"];
        Assert.Empty(entry.Versions);
        Assert.Empty(backend.Created);
        Assert.Equal("m/routing.pbtxt:2:11: variant[1].name: variant 'stable' is declared twice", entry.Reason);
        Assert.Empty(core.Registry.Snapshot.Routes);
        Assert.Equal(["'m': m/routing.pbtxt:2:11: variant[1].name: variant 'stable' is declared twice"], core.Door.StartupFailures());
        Assert.False(core.Door.IsReady);
        Assert.Equal([new ModelIndexEntry("m", "", ModelState.Unavailable, entry.Reason)], core.Door.RepositoryIndex());
    }

    [Fact]
    public async Task A_route_of_its_own_folder_that_does_not_read_is_an_index_row_and_a_startup_failure_not_a_failed_model()
    {
        _repository.Add("m", 1).AddRoute("ab", """variant { name: "a" weight: 1 }""");
        await using var core = Start(ModelControlMode.None);
        await core.Door.StartAsync(CancellationToken.None);

        const string Reason = "ab/routing.pbtxt:1:1: variant[0].model: required: the route is not declared beside a model's config.pbtxt, so each variant names its model";
        Assert.False(core.Registry.Snapshot.Models.ContainsKey("ab"));
        Assert.Empty(core.Registry.Snapshot.Routes);
        Assert.Contains(new ModelIndexEntry("ab", "", ModelState.Unavailable, Reason), core.Door.RepositoryIndex());
        Assert.Equal([$"'ab': {Reason}"], core.Door.StartupFailures());
        Assert.False(core.Door.IsReady);
    }

    [Fact]
    public async Task The_repository_api_loads_a_route_of_its_own_folder_keeps_it_over_a_bad_file_and_unloads_it()
    {
        _repository.Add("m", 1).Add("other", 1).AddRoute("ab", AB);
        await using var core = Start(ModelControlMode.Explicit);
        await core.Door.StartAsync(CancellationToken.None);
        Assert.Contains(new ModelIndexEntry("ab", "", ModelState.Unavailable, "not loaded"), core.Door.RepositoryIndex());

        await core.Door.LoadModelAsync("ab", null, CancellationToken.None);
        var route = core.Registry.Snapshot.Routes["ab"];
        Assert.Contains(new ModelIndexEntry("ab", "", ModelState.Ready, ""), core.Door.RepositoryIndex());
        // The route's variants are models loaded on their own.
        Assert.DoesNotContain("m", core.Registry.Snapshot.Models.Keys);

        // The same file again: nothing is swapped, so the route's state lives on.
        var generation = core.Registry.Snapshot.Generation;
        await core.Door.LoadModelAsync("ab", null, CancellationToken.None);
        Assert.Equal(generation, core.Registry.Snapshot.Generation);

        _repository.AddRoute("ab", AB + "\nsticky { header: \"x-user\" }\nshadow { percent: 5 }\n");
        var error = await Assert.ThrowsAsync<InferenceException>(() => core.Door.LoadModelAsync("ab", null, CancellationToken.None));
        Assert.Equal(InferenceErrorKind.Unavailable, error.Kind);
        Assert.Equal("failed to load 'ab': ab/routing.pbtxt:4:1: shadow.variant: required: the name of one of the route's variants", error.Message);
        // The invalid file replaced nothing: the published route serves on, and the index says why the file did not load.
        Assert.Same(route, core.Registry.Snapshot.Routes["ab"]);
        Assert.Contains(new ModelIndexEntry("ab", "", ModelState.Ready, "ab/routing.pbtxt:4:1: shadow.variant: required: the name of one of the route's variants"),
            core.Door.RepositoryIndex().Select(r => r with { Memory = null }));

        _repository.AddRoute("ab", AB.Replace("50", "70", StringComparison.Ordinal));
        await core.Door.LoadModelAsync("ab", null, CancellationToken.None);
        Assert.Equal([70u, 70u], core.Registry.Snapshot.Routes["ab"].Config.Variant.Select(v => v.Weight));
        Assert.Contains(new ModelIndexEntry("ab", "", ModelState.Ready, ""), core.Door.RepositoryIndex());

        await core.Door.UnloadModelAsync("ab", unloadDependents: false, CancellationToken.None);
        Assert.Empty(core.Registry.Snapshot.Routes);
        Assert.Contains(new ModelIndexEntry("ab", "", ModelState.Unavailable, "unloaded"), core.Door.RepositoryIndex());
        Assert.DoesNotContain("ab", core.Registry.Snapshot.Models.Keys);
    }

    [Fact]
    public async Task Loading_a_model_reads_its_route_again_and_a_bad_one_changes_nothing_of_the_folder()
    {
        _repository.Add("m", BothVersions, 1, 2).AddRoute("m", Canary);
        await using var core = Start(ModelControlMode.Explicit, "m");
        await core.Door.StartAsync(CancellationToken.None);
        var version = core.Resolve("m", "2");
        Assert.Equal([90u, 10u], core.Registry.Snapshot.Routes["m"].Config.Variant.Select(v => v.Weight));

        _repository.AddRoute("m", Canary.Replace("90", "80", StringComparison.Ordinal).Replace("10", "20", StringComparison.Ordinal));
        await core.Door.LoadModelAsync("m", null, CancellationToken.None);
        var route = core.Registry.Snapshot.Routes["m"];
        Assert.Equal([80u, 20u], route.Config.Variant.Select(v => v.Weight));
        Assert.Same(version, core.Resolve("m", "2"));

        // A bad file fails the load with the reader's message; versions and route serve on as they were.
        _repository.AddRoute("m", Canary + "\nrollout { canary: \"canary\" steps: [ 5, 50 ] }\n");
        _repository.Add("m", BothVersions, 3);
        var error = await Assert.ThrowsAsync<InferenceException>(() => core.Door.LoadModelAsync("m", null, CancellationToken.None));
        Assert.Equal("failed to load 'm': m/routing.pbtxt:3:28: rollout.steps: the steps are the canary's weights in per cent and must end at 100", error.Message);
        Assert.Same(route, core.Registry.Snapshot.Routes["m"]);
        Assert.Same(version, core.Resolve("m", "2"));
        Assert.DoesNotContain(3L, core.Registry.Snapshot.Models["m"].Versions.Keys);
        Assert.Contains(new ModelIndexEntry("m", "", ModelState.Unavailable, error.Message["failed to load 'm': ".Length..]), core.Door.RepositoryIndex());

        // The file gone: the model loads without a route.
        File.Delete(Path.Combine(_repository.Path, "m", "routing.pbtxt"));
        await core.Door.LoadModelAsync("m", null, CancellationToken.None);
        Assert.Empty(core.Registry.Snapshot.Routes);
        Assert.Equal(3, core.Resolve("m", "3").Version);

        _repository.AddRoute("m", Canary);
        await core.Door.LoadModelAsync("m", null, CancellationToken.None);
        Assert.True(core.Registry.Snapshot.Routes.ContainsKey("m"));
        await core.Door.UnloadModelAsync("m", unloadDependents: false, CancellationToken.None);
        Assert.Empty(core.Registry.Snapshot.Routes);
        Assert.DoesNotContain(core.Door.RepositoryIndex(), r => r.State == ModelState.Ready);
    }

    [Fact]
    public async Task Explicit_startup_loads_the_named_routes_or_every_one_with_a_star()
    {
        _repository.Add("m", 1).AddRoute("ab", AB).AddRoute("cd", AB);
        await using (var named = Start(ModelControlMode.Explicit, "ab"))
        {
            await named.Door.StartAsync(CancellationToken.None);
            Assert.Equal(["ab"], named.Registry.Snapshot.Routes.Keys);
            Assert.True(named.Door.IsReady);
        }
        await using var all = Start(ModelControlMode.Explicit, ModelLifecycleOptions.AllModels);
        await all.Door.StartAsync(CancellationToken.None);
        Assert.Equal(["ab", "cd"], all.Registry.Snapshot.Routes.Keys.Order());
        Assert.Empty(all.Door.StartupFailures());
    }

    [Fact]
    public async Task A_route_in_two_repositories_is_not_loaded_from_either()
    {
        using var second = new FakeModelRepository().AddRoute("ab", AB);
        _repository.Add("m", 1).AddRoute("ab", AB);
        await using var core = new ServingCore(new GatedBackend(), new ModelLifecycleOptions { ModelRepositories = [_repository.Path, second.Path] });
        await core.Door.StartAsync(CancellationToken.None);

        Assert.Empty(core.Registry.Snapshot.Routes);
        Assert.Contains(new ModelIndexEntry("ab", "", ModelState.Unavailable, "model appears in two or more repositories"), core.Door.RepositoryIndex());
        Assert.Equal(["'ab': model appears in two or more repositories"], core.Door.StartupFailures());
    }
}
