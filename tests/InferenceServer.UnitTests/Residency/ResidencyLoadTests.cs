using System.Runtime.InteropServices;
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
/// The residency with loads the test scripts. The GPU side, against a GPU whose memory the test scripts (no GPU on this
/// machine): a load's device memory is measured across it, charged against <c>--gpu-memory-budget</c>, and a later load
/// evicts to make room. And the wait a load asked for now should expect, which on-demand mode refuses cold requests by.
/// The CPU side with real allocations: what a load keeps and its peak while it runs (alone: other tests would move the
/// process's memory).
/// </summary>
[Collection(ProcessMemoryCollection.Name)]
public sealed class ResidencyLoadTests : IDisposable
{
    private const long Gb = 1_000_000_000;
    private const long MiB = 1024 * 1024;
    private readonly string _folder = Directory.CreateTempSubdirectory("residency-load").FullName;

    [Fact]
    public async Task The_expected_wait_is_the_loads_queued_under_the_budget_times_how_long_a_load_holds_it()
    {
        var gpu = new ScriptedGpuDevices(16 * Gb);
        var registry = new ModelRegistry();
        var options = new ModelLifecycleOptions { ModelControlMode = ModelControlMode.OnDemand, GpuMemoryBudgets = ["0:4000000000"], EvictionMinIdleSeconds = 0 };
        var residency = new ModelResidency(registry, options, gpu, NullLogger<ModelResidency>.Instance);
        Assert.Equal(TimeSpan.Zero, residency.ExpectedQueueWait);

        // One load that holds the budget at least 200 ms teaches the average.
        await LoadAsync(residency, registry, gpu, "a", Gb / 10, TimeSpan.FromMilliseconds(200));
        Assert.Equal(TimeSpan.Zero, residency.ExpectedQueueWait);

        // Three more at once: one holds the budget (until released), two wait behind it.
        var release = new TaskCompletionSource();
        var loads = new[] { "b", "c", "d" }.Select(name => LoadAsync(residency, registry, gpu, name, Gb / 10, release: release.Task)).ToList();
        for (var waited = 0; residency.ExpectedQueueWait < TimeSpan.FromMilliseconds(3 * 200) && waited < 10_000; waited += 10)
        {
            await Task.Delay(10);
        }
        Assert.InRange(residency.ExpectedQueueWait.TotalMilliseconds, 3 * 200, 3 * 10_000);
        release.SetResult();
        await Task.WhenAll(loads);
        Assert.Equal(TimeSpan.Zero, residency.ExpectedQueueWait);
    }

    [Fact]
    public async Task Device_memory_is_measured_across_the_load_corrected_after_it_and_a_later_load_evicts_to_fit_the_gpu_budget()
    {
        var gpu = new ScriptedGpuDevices(16 * Gb);
        var registry = new ModelRegistry();
        var options = new ModelLifecycleOptions { ModelControlMode = ModelControlMode.OnDemand, GpuMemoryBudgets = ["0:4000000000"], EvictionMinIdleSeconds = 0 };
        var residency = new ModelResidency(registry, options, gpu, NullLogger<ModelResidency>.Instance);
        var evicted = new List<string>();
        residency.Evict = name =>
        {
            evicted.Add(name);
            return Unload(registry, gpu, name);
        };
        Assert.Equal(4 * Gb, residency.Budgets.GpuBytes[0]);

        var a = await LoadAsync(residency, registry, gpu, "a", 3 * Gb);
        Assert.Equal(3 * Gb, a.Footprint.Gpu(0));
        Assert.True(a.Footprint.Measured);

        // b's first estimate (its files' size) fits; the measurement then charges what it really took, over the budget.
        var b = await LoadAsync(residency, registry, gpu, "b", 3 * Gb / 2);
        Assert.Empty(evicted);
        Assert.Equal(3 * Gb + 3 * Gb / 2, residency.Used().Gpu(0));

        // a unloaded, then asked for again: estimated at its last measurement (3 GB), which does not fit beside b.
        await Task.WhenAll(Unload(registry, gpu, "a").Select(v => v.RetireAsync()));
        Assert.Equal(3 * Gb / 2, residency.Used().Gpu(0));
        var again = await LoadAsync(residency, registry, gpu, "a", 3 * Gb);
        Assert.Equal(ModelState.Ready, again.State);
        Assert.Equal(["b"], evicted);
        Assert.Equal(ModelState.Unavailable, b.State);
        Assert.Equal(3 * Gb, residency.Used().Gpu(0));
    }

    [Fact]
    public async Task Under_a_cpu_budget_a_load_is_charged_what_it_keeps_and_its_peak_while_it_ran_is_recorded()
    {
        var registry = new ModelRegistry();
        var options = new ModelLifecycleOptions { ModelControlMode = ModelControlMode.OnDemand, ModelMemoryBudget = "4Gi", EvictionMinIdleSeconds = 0 };
        var residency = new ModelResidency(registry, options, new ScriptedGpuDevices(16 * Gb), NullLogger<ModelResidency>.Instance);
        var plan = Plan("a", gpu: false);
        nint kept = 0;
        try
        {
            var version = await residency.LoadAsync(plan, 1, "signature", _ =>
            {
                // 96 MiB while it loads, 32 MiB of it kept: as ONNX Runtime holds the read file and the weights at once.
                var transient = Touched(64 * MiB);
                kept = Touched(32 * MiB);
                Marshal.FreeHGlobal(transient);
                return Task.FromResult(ModelVersion.Ready("a", 1, plan.Config!, new ModelScheduler("a", 0, null, [new AddOneInstance()]), 1));
            }, CancellationToken.None);

            Assert.Equal(ModelState.Ready, version.State);
            Assert.True(version.Footprint.Measured);
            Assert.InRange(version.Footprint.CpuBytes, 28 * MiB, 48 * MiB);
            Assert.True(version.Footprint.CpuLoadPeakBytes >= 92 * MiB, $"peak {version.Footprint.CpuLoadPeakBytes} should count the 64 MiB freed during the load");
            // What the next load of these files makes room for.
            Assert.Equal(version.Footprint.CpuLoadPeakBytes, version.Footprint.CpuRoomBytes);
        }
        finally
        {
            Marshal.FreeHGlobal(kept);
        }
    }

    [Fact]
    public async Task A_load_larger_than_the_gpu_budget_is_refused_before_anything_is_created()
    {
        var gpu = new ScriptedGpuDevices(16 * Gb);
        var registry = new ModelRegistry();
        var residency = new ModelResidency(registry, new ModelLifecycleOptions { GpuMemoryBudgets = ["0:4000000000"] }, gpu, NullLogger<ModelResidency>.Instance);
        await LoadAsync(residency, registry, gpu, "a", 5 * Gb);
        await Task.WhenAll(Unload(registry, gpu, "a").Select(v => v.RetireAsync()));

        var created = false;
        var plan = Plan("a");
        var version = await residency.LoadAsync(plan, 1, "signature", _ =>
        {
            created = true;
            throw new InvalidOperationException("not reached");
        }, CancellationToken.None);
        Assert.False(created);
        Assert.Equal(ModelState.Unavailable, version.State);
        Assert.Contains("--gpu-memory-budget 0 of 4000000000 bytes", version.Reason);
        Assert.Contains("needs 5000000000 bytes", version.Reason);
    }

    // Takes the model out of the registry; the scripted GPU gets its memory back as the instances would free it.
    private static List<ModelVersion> Unload(ModelRegistry registry, ScriptedGpuDevices gpu, string name)
    {
        var versions = registry.Snapshot.Models[name].Versions.Values.ToList();
        registry.Publish(new ModelEntry(name, new Dictionary<long, ModelVersion>(), "unloaded") { Unloaded = true });
        foreach (var version in versions)
        {
            gpu.AddUsed(0, -version.Footprint.Gpu(0));
        }
        return versions;
    }

    // Allocates bytes with the C allocator and writes a byte in every page, so that all of it is resident.
    private static nint Touched(long bytes)
    {
        var block = Marshal.AllocHGlobal((nint)bytes);
        for (long offset = 0; offset < bytes; offset += 4096)
        {
            Marshal.WriteByte(block, (int)offset, 1);
        }
        return block;
    }

    private ModelLoadPlan Plan(string name, bool gpu = true)
    {
        var folder = Path.Combine(_folder, name, "1");
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "model.onnx"), new byte[1000]);
        var config = TestConfigs.Config(name, 0, [TestConfigs.Input("INPUT0", DataType.Int32, [2])], [TestConfigs.Output("OUTPUT0", DataType.Int32, [2])]);
        config.InstanceGroup.Add(gpu
            ? new ModelInstanceGroup { Kind = ModelInstanceGroup.Types.Kind.Gpu, Count = 1, Gpus = { 0 } }
            : new ModelInstanceGroup { Kind = ModelInstanceGroup.Types.Kind.Cpu, Count = 1 });
        var directory = new ModelDirectory(name, Path.Combine(_folder, name), null, new Dictionary<long, string> { [1] = folder });
        return new ModelLoadPlan(directory, config, null, [1], "");
    }

    // Loads a GPU model whose load makes the scripted device use gpuBytes more, and publishes it.
    // The load takes at least `takes`, and does not end before `release` completes.
    private async Task<ModelVersion> LoadAsync(ModelResidency residency, ModelRegistry registry, ScriptedGpuDevices gpu, string name, long gpuBytes,
        TimeSpan takes = default, Task? release = null)
    {
        var plan = Plan(name);
        var version = await residency.LoadAsync(plan, 1, "signature", async _ =>
        {
            gpu.AddUsed(0, gpuBytes);
            await Task.Delay(takes);
            await (release ?? Task.CompletedTask);
            return ModelVersion.Ready(name, 1, plan.Config!, new ModelScheduler(name, 0, null, [new AddOneInstance()]), 1);
        }, CancellationToken.None);
        if (version.State == ModelState.Ready)
        {
            registry.Publish(new ModelEntry(name, new Dictionary<long, ModelVersion> { [1] = version }, ""));
        }
        // The next use is later: LRU order is by millisecond.
        await Task.Delay(5);
        return version;
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
