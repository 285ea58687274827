using InferenceServer.Core.Inference;
using InferenceServer.Core.Lifecycle;
using InferenceServer.Core.Models;
using InferenceServer.Core.Routing;
using InferenceServer.UnitTests.Lifecycle;
using InferenceServer.UnitTests.TestDoubles;

namespace InferenceServer.UnitTests.Routing;

/// <summary>The route table swapped whole behind the router, and the default policy, over versions a real lifecycle loaded.</summary>
public sealed class RoutingTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private const string AllVersions = FakeModelRepository.Config + """

        version_policy: { all: {} }
        """;

    private readonly FakeModelRepository _repository = new();

    public void Dispose() => _repository.Dispose();

    private async Task<ServingCore> StartAsync(params string[] load)
    {
        var core = new ServingCore(new GatedBackend(), new ModelLifecycleOptions
        {
            ModelRepositories = [_repository.Path],
            ModelControlMode = ModelControlMode.Explicit,
            LoadModels = load,
        });
        await core.Door.StartAsync(CancellationToken.None);
        return core;
    }

    private static InferenceException Refused(ServingCore core, string model, string? version) =>
        Assert.Throws<InferenceException>(() => core.Door.Resolve(model, version, default));

    [Fact]
    public async Task The_default_policy_takes_the_named_version_else_the_newest_ready_one_and_refuses_as_before()
    {
        _repository.Add("m", AllVersions, 1, 2);
        // Version 3 has no model file: it fails to load and stays listed, UNAVAILABLE.
        Directory.CreateDirectory(Path.Combine(_repository.Path, "m", "3"));
        _repository.Add("broken", 1);
        File.Delete(Path.Combine(_repository.Path, "broken", "1", "model.fake"));
        await using var core = await StartAsync("m", "broken");

        var newest = core.Door.Resolve("m", null, default);
        Assert.Equal(("m", "2"), (newest.Name, newest.Version));
        Assert.Equal(["1", "2"], newest.Route.ReadyVersions);
        Assert.Equal("2", core.Door.Resolve("m", "", default).Version);
        Assert.Equal("1", core.Door.Resolve("m", "1", default).Version);
        Assert.Equal(4, core.Door.Resolve("m", "1", default).Config.MaxBatchSize);

        var cases = new (string Model, string? Version, InferenceErrorKind Kind, string Message)[]
        {
            ("nope", null, InferenceErrorKind.NotFound, "unknown model 'nope'"),
            ("m", "7", InferenceErrorKind.NotFound, "unknown version '7' of model 'm'"),
            ("m", "x", InferenceErrorKind.NotFound, "unknown version 'x' of model 'm'"),
            ("m", "-1", InferenceErrorKind.NotFound, "unknown version '-1' of model 'm'"),
            ("m", "3", InferenceErrorKind.Unavailable, "model 'm' version 3 is not ready: model file 'm/3/model.fake' not found"),
            ("broken", null, InferenceErrorKind.Unavailable, "model 'broken' has no ready version: version 1: model file 'broken/1/model.fake' not found"),
        };
        foreach (var (model, version, kind, message) in cases)
        {
            var error = Refused(core, model, version);
            Assert.Equal((kind, message), (error.Kind, error.Message));
        }
        Assert.False(core.Door.IsModelReady("m", "3", default));
        Assert.True(core.Door.IsModelReady("m", "1", default));

        // Unloaded: no route at all, as for a model never heard of.
        await core.Door.UnloadModelAsync("m", unloadDependents: false, CancellationToken.None);
        Assert.Equal((InferenceErrorKind.NotFound, "unknown model 'm'"), (Refused(core, "m", "1").Kind, Refused(core, "m", "1").Message));
    }

    [Fact]
    public async Task A_swap_rebuilds_only_the_routes_of_the_models_it_changes()
    {
        _repository.Add("m", 1).Add("other", 1);
        await using var core = await StartAsync("m");
        var table = core.Router.Table;
        var route = core.Door.FindModel("m");

        await core.Door.LoadModelAsync("other", null, CancellationToken.None);

        Assert.True(core.Router.Table.Generation > table.Generation);
        Assert.Same(route, core.Door.FindModel("m"));
        Assert.Same(route.Ready[0], core.Door.Resolve("m", null, default));
        Assert.Equal(["1"], core.Door.FindModel("other").ReadyVersions);
    }

    [Fact]
    public async Task Requests_racing_swaps_each_get_one_table_whole()
    {
        _repository.Add("m", AllVersions, 1, 2);
        await using var core = await StartAsync("m");
        var one = core.Resolve("m", "1");
        var two = core.Resolve("m", "2");
        var onlyOne = new ModelEntry("m", new Dictionary<long, ModelVersion> { [1] = one }, "");
        var both = new ModelEntry("m", new Dictionary<long, ModelVersion> { [1] = one, [2] = two }, "");

        using var stop = new CancellationTokenSource();
        var sawOne = 0;
        var sawTwo = 0;
        var running = 0;
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            var generation = 0L;
            var resolved = 0;
            while (!stop.IsCancellationRequested)
            {
                var seen = core.Router.Table.Generation;
                Assert.True(seen >= generation, "the route table went back to an older snapshot");
                generation = seen;
                var target = core.Door.Resolve("m", null, default);
                // The newest version the target's own route lists, and a version of the entry that route was built from.
                Assert.Equal(target.Route.ReadyVersions[^1], target.Version);
                Assert.Same(target.Route.Entry.Versions[long.Parse(target.Version, System.Globalization.CultureInfo.InvariantCulture)], target.Serving);
                Interlocked.Increment(ref target.Version == "1" ? ref sawOne : ref sawTwo);
                if (resolved++ == 0)
                {
                    Interlocked.Increment(ref running);
                }
            }
            return resolved;
        })).ToArray();

        var deadline = DateTime.UtcNow + Patience;
        while (Volatile.Read(ref running) < readers.Length)
        {
            Assert.True(DateTime.UtcNow < deadline, "the readers did not start");
            await Task.Delay(1);
        }
        for (var i = 0; i < 2000 || Volatile.Read(ref sawOne) == 0 || Volatile.Read(ref sawTwo) == 0; i++)
        {
            Assert.True(DateTime.UtcNow < deadline, "the readers never saw both tables");
            core.Registry.Publish(i % 2 == 0 ? onlyOne : both);
        }
        core.Registry.Publish(both);
        await stop.CancelAsync();
        var counts = await Task.WhenAll(readers).WaitAsync(Patience);
        Assert.All(counts, c => Assert.True(c > 0));
    }

    [Fact]
    public async Task A_request_whose_version_is_retired_after_routing_runs_on_its_successor()
    {
        _repository.Add("m", AllVersions, 1, 2);
        await using var core = await StartAsync("m");
        var target = core.Door.Resolve("m", null, default);
        Assert.Equal("2", target.Version);

        // Version 2 leaves the registry and retires between routing and running, as a version-policy change does.
        var one = core.Resolve("m", "1");
        core.Registry.Publish(new ModelEntry("m", new Dictionary<long, ModelVersion> { [1] = one }, ""));
        await target.Serving.RetireAsync().WaitAsync(Patience);

        using var request = new InferenceRequest { ModelName = "m" };
        request.Inputs.Add(AddOneInstance.Int32Tensor("INPUT0", [1, 2], 10, 20));
        using var response = await core.Door.InferAsync(target, request, default, CancellationToken.None).WaitAsync(Patience);
        Assert.Equal("1", response.ModelVersion);
        Assert.Equal([11, 21], AddOneInstance.ReadInt32(response.Outputs[0]));
    }
}
