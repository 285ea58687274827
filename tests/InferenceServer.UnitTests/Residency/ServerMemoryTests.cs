using InferenceServer.Core.Lifecycle;
using InferenceServer.Core.Models;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Residency;
using InferenceServer.Core.Scheduling;
using InferenceServer.Tests.Common;
using InferenceServer.UnitTests.Repository;
using InferenceServer.UnitTests.TestDoubles;
using Microsoft.Extensions.Logging.Abstractions;
using DataType = InferenceServer.Core.Tensors.DataType;

namespace InferenceServer.UnitTests.Residency;

/// <summary>
/// A CPU budget that counts the process (<c>--model-memory-budget-counts process</c>), against a scripted process memory:
/// the server's own growth takes room from the models, at a load and between loads, and never evicts a pinned model or one
/// with a request running. The models declare 100 MB each, so what they are charged does not depend on this process's
/// real memory (alone: other tests would move it, and a load's measurement reads it).
/// </summary>
[Collection(ProcessMemoryCollection.Name)]
public sealed class ServerMemoryTests : IDisposable
{
    private const long Mb = 1_000_000;
    private const long Model = 100 * Mb;
    private readonly string _folder = Directory.CreateTempSubdirectory("server-memory").FullName;
    private readonly ModelRegistry _registry = new();
    private readonly List<string> _evicted = [];
    // What the scripted process holds: the test moves it as models load and go and as "traffic" grows the server.
    private long _resident = 1000 * Mb;

    [Fact]
    public void The_servers_own_memory_is_what_the_process_holds_above_the_empty_server_less_the_models_charge_and_never_below_zero()
    {
        var memory = new ServerMemory(() => _resident, Timeout.InfiniteTimeSpan);
        Assert.Null(memory.EmptyBytes);
        Assert.Equal(0, memory.OwnBytes(0));

        Assert.True(memory.MarkEmpty());
        _resident += 50 * Mb;
        Assert.False(memory.MarkEmpty());
        Assert.Equal(1000 * Mb, memory.EmptyBytes);
        Assert.Equal(30 * Mb, memory.OwnBytes(20 * Mb));
        // The allocator gave back more than a model was charged: nothing is owed, not a negative amount.
        Assert.Equal(0, memory.OwnBytes(80 * Mb));
    }

    [Theory]
    [InlineData(ModelLifecycleOptions.BudgetCountsProcess, "a")]
    [InlineData(ModelLifecycleOptions.BudgetCountsModels, "")]
    public async Task A_load_makes_room_for_the_servers_growth_where_the_budget_counts_the_process(string counts, string evicted)
    {
        using var residency = Residency(counts);
        await LoadAsync(residency, "a");
        await LoadAsync(residency, "b");
        Assert.Equal(0, residency.ServerOwnBytes);

        // Traffic grows the server by 100 MB: 300 MB of the 350 MB budget are taken, and c needs 100.
        _resident += 100 * Mb;
        Assert.Equal(counts == ModelLifecycleOptions.BudgetCountsProcess ? 100 * Mb : 0, residency.ServerOwnBytes);
        var c = await LoadAsync(residency, "c");

        Assert.Equal(ModelState.Ready, c.State);
        Assert.Equal(evicted, string.Join(",", _evicted));
        if (counts == ModelLifecycleOptions.BudgetCountsProcess)
        {
            // The process holds the empty server, two models and the server's growth: within the budget.
            Assert.Equal(200 * Mb, residency.Used().CpuBytes);
            Assert.True(_resident - 1000 * Mb <= 350 * Mb, $"the process holds {_resident - 1000 * Mb} bytes above empty");
        }
    }

    [Fact]
    public async Task Between_loads_the_servers_growth_evicts_the_least_recently_used_idle_model_and_never_one_with_a_request_running()
    {
        using var residency = Residency(ModelLifecycleOptions.BudgetCountsProcess);
        // Nothing loaded yet: the empty server is not known, so there is nothing to hold.
        Assert.Equal(0, await residency.RelieveAsync(CancellationToken.None));
        var a = await LoadAsync(residency, "a");
        var b = await LoadAsync(residency, "b");
        Assert.Equal(0, await residency.RelieveAsync(CancellationToken.None));

        // The server grows by 200 MB with no load asking: 400 MB held against 350. a, used least recently, goes.
        _resident += 200 * Mb;
        Assert.Equal(1, await residency.RelieveAsync(CancellationToken.None));
        Assert.Equal("a", string.Join(",", _evicted));
        Assert.Equal(ModelState.Unavailable, a.State);
        Assert.Equal(100 * Mb, residency.Used().CpuBytes);

        // It grows again while b runs a request: b stays until the request has ended, then goes.
        _resident += 100 * Mb;
        Assert.True(b.TryEnter());
        Assert.Equal(0, await residency.RelieveAsync(CancellationToken.None));
        Assert.Equal(ModelState.Ready, b.State);
        b.Exit();
        Assert.Equal(1, await residency.RelieveAsync(CancellationToken.None));
        Assert.Equal("a,b", string.Join(",", _evicted));
    }

    [Fact]
    public async Task A_pinned_model_stays_however_far_the_server_grows_and_a_load_that_cannot_fit_says_the_server_holds_the_rest()
    {
        using var residency = Residency(ModelLifecycleOptions.BudgetCountsProcess);
        await LoadAsync(residency, "pinned", pinned: true);
        // 100 MB of model and 300 of the server's own: 50 MB over, and only the pinned model could go.
        _resident += 300 * Mb;
        Assert.Equal(0, await residency.RelieveAsync(CancellationToken.None));
        Assert.Empty(_evicted);

        var refused = await LoadAsync(residency, "b");
        Assert.Equal(ModelState.Unavailable, refused.State);
        Assert.Contains("--model-memory-budget of 350000000 bytes", refused.Reason);
        Assert.Contains("300000000 bytes (286.1 MiB) of what is loaded is the server's own memory", refused.Reason);
    }

    [Fact]
    public async Task Before_a_model_is_evicted_for_the_servers_own_memory_the_server_is_asked_to_give_back_what_it_can_at_most_once_in_ten_seconds()
    {
        var reclaims = 0;
        // The scripted server gives back 100 MB when asked (as a full collection decommits the GC's free memory).
        using var residency = Residency(ModelLifecycleOptions.BudgetCountsProcess, () =>
        {
            reclaims++;
            Interlocked.Add(ref _resident, -100 * Mb);
        });
        await LoadAsync(residency, "a");
        await LoadAsync(residency, "b");

        // 200 MB of models and 200 of the server's own: over by 50. Giving back 100 is enough, and nothing is evicted.
        _resident += 200 * Mb;
        Assert.Equal(0, await residency.RelieveAsync(CancellationToken.None));
        Assert.Equal(1, reclaims);
        Assert.Empty(_evicted);
        Assert.Equal(100 * Mb, residency.ServerOwnBytes);

        // Over again at once: the server was asked within the last ten seconds, so a model goes instead.
        _resident += 100 * Mb;
        Assert.Equal(1, await residency.RelieveAsync(CancellationToken.None));
        Assert.Equal(1, reclaims);
        Assert.Equal("a", string.Join(",", _evicted));
    }

    private ModelResidency Residency(string counts, Action? reclaim = null)
    {
        var options = new ModelLifecycleOptions
        {
            ModelControlMode = ModelControlMode.OnDemand, ModelMemoryBudget = "350000000", ModelMemoryBudgetCounts = counts, EvictionMinIdleSeconds = 0,
        };
        var residency = new ModelResidency(_registry, options, new ScriptedGpuDevices(16_000_000_000), NullLogger<ModelResidency>.Instance,
            new ServerMemory(() => Volatile.Read(ref _resident), Timeout.InfiniteTimeSpan, reclaim));
        residency.Evict = name =>
        {
            _evicted.Add(name);
            var versions = _registry.Snapshot.Models[name].Versions.Values.ToList();
            _registry.Publish(new ModelEntry(name, new Dictionary<long, ModelVersion>(), "unloaded") { Unloaded = true });
            // The scripted process gives the model's memory back as its instances are released.
            Interlocked.Add(ref _resident, -versions.Sum(v => v.Footprint.CpuBytes));
            return versions;
        };
        return residency;
    }

    // Loads a CPU model that declares 100 MB; the scripted process grows by as much while it loads. Published when ready.
    private async Task<ModelVersion> LoadAsync(ModelResidency residency, string name, bool pinned = false)
    {
        var folder = Path.Combine(_folder, name, "1");
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "model.onnx"), new byte[1000]);
        var config = TestConfigs.Config(name, 0, [TestConfigs.Input("INPUT0", DataType.Int32, [2])], [TestConfigs.Output("OUTPUT0", DataType.Int32, [2])]);
        config.InstanceGroup.Add(new ModelInstanceGroup { Kind = ModelInstanceGroup.Types.Kind.Cpu, Count = 1 });
        config.Parameters[ModelResidency.FootprintParameter] = new ModelParameter { StringValue = Model.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (pinned)
        {
            config.Parameters[ModelResidency.PinnedParameter] = new ModelParameter { StringValue = "true" };
        }
        var plan = new ModelLoadPlan(new ModelDirectory(name, Path.Combine(_folder, name), null, new Dictionary<long, string> { [1] = folder }), config, null, [1], "");
        var version = await residency.LoadAsync(plan, 1, "signature", _ =>
        {
            Interlocked.Add(ref _resident, Model);
            return Task.FromResult(ModelVersion.Ready(name, 1, config, new ModelScheduler(name, 0, null, [new AddOneInstance()]), 1));
        }, CancellationToken.None);
        if (version.State == ModelState.Ready)
        {
            _registry.Publish(new ModelEntry(name, new Dictionary<long, ModelVersion> { [1] = version }, ""));
        }
        // The next use is later: LRU order is by millisecond.
        await Task.Delay(5);
        return version;
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
