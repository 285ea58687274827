using InferenceServer.Core.Residency;

namespace InferenceServer.UnitTests.Residency;

/// <summary>The eviction policy alone: LRU order, pinning, the anti-thrash window, refusals and per-GPU budgets.</summary>
public sealed class EvictionPolicyTests
{
    private const long Mb = 1_000_000;
    private const long Now = 1_000_000;

    private static readonly MemoryBudgets Cpu300 = new(300 * Mb, new Dictionary<int, long>());

    private static EvictionCandidate Model(string name, long mb, long idleMs, bool pinned = false) =>
        new(name, VersionFootprint.Cpu(mb * Mb, true), Now - idleMs, pinned);

    private static VersionFootprint Used(params EvictionCandidate[] models) => VersionFootprint.Cpu(models.Sum(m => m.Footprint.CpuBytes), true);

    private static EvictionPlan Plan(MemoryBudgets budgets, VersionFootprint need, long minIdleMs, params EvictionCandidate[] resident) =>
        EvictionPolicy.Plan("model 'new' version 1", budgets, Used(resident), need, resident, Now, minIdleMs);

    [Fact]
    public void A_load_that_fits_evicts_nothing()
    {
        var plan = Plan(Cpu300, VersionFootprint.Cpu(100 * Mb, false), 0, Model("a", 100, 10), Model("b", 100, 20));
        Assert.True(plan.Fits);
        Assert.Empty(plan.Victims);
    }

    [Fact]
    public void The_least_recently_used_go_first_and_only_as_many_as_needed()
    {
        var a = Model("a", 100, idleMs: 10);
        var b = Model("b", 100, idleMs: 30);
        var c = Model("c", 100, idleMs: 20);
        Assert.Equal(["b"], Plan(Cpu300, VersionFootprint.Cpu(100 * Mb, false), 0, a, b, c).Victims.Select(v => v.Model));
        Assert.Equal(["b", "c"], Plan(Cpu300, VersionFootprint.Cpu(150 * Mb, false), 0, a, b, c).Victims.Select(v => v.Model));
    }

    [Fact]
    public void A_load_makes_room_for_its_peak_while_it_loads_not_only_for_what_it_holds_after()
    {
        var a = Model("a", 100, idleMs: 30);
        var b = Model("b", 100, idleMs: 20);
        var c = Model("c", 90, idleMs: 10);
        // Holds 10 MB once loaded: fits in the 10 MB left.
        Assert.Empty(Plan(Cpu300, VersionFootprint.Cpu(10 * Mb, true), 0, a, b, c).Victims);
        // But it held 60 MB while it loaded last time: the least recently used goes first.
        var peaky = VersionFootprint.Cpu(10 * Mb, true) with { CpuLoadPeakBytes = 60 * Mb };
        Assert.Equal(["a"], Plan(Cpu300, peaky, 0, a, b, c).Victims.Select(v => v.Model));

        // A peak above the whole budget is refused, and the reason says it is the load's peak.
        var plan = Plan(Cpu300, VersionFootprint.Cpu(10 * Mb, true) with { CpuLoadPeakBytes = 400 * Mb }, 0, a, b, c);
        Assert.False(plan.Fits);
        Assert.Contains("needs 400000000 bytes (381.5 MiB) of CPU memory while it loads", plan.Refusal);
    }

    [Fact]
    public void A_pinned_model_is_skipped_however_old()
    {
        var plan = Plan(Cpu300, VersionFootprint.Cpu(100 * Mb, false), 0, Model("old", 100, 1000, pinned: true), Model("a", 100, 10), Model("b", 100, 20));
        Assert.Equal(["b"], plan.Victims.Select(v => v.Model));
    }

    [Fact]
    public void A_model_used_within_the_window_is_not_evicted_and_the_refusal_says_when_to_retry()
    {
        var plan = Plan(Cpu300, VersionFootprint.Cpu(100 * Mb, false), minIdleMs: 5000, Model("a", 100, 1000), Model("b", 100, 9000), Model("c", 100, 2000));
        // b has been idle long enough; a and c have not, but b alone makes room.
        Assert.Equal(["b"], plan.Victims.Select(v => v.Model));

        plan = Plan(Cpu300, VersionFootprint.Cpu(100 * Mb, false), minIdleMs: 5000, Model("a", 100, 1000), Model("b", 100, 3000), Model("c", 100, 2000));
        Assert.False(plan.Fits);
        Assert.Empty(plan.Victims);
        // b, the oldest, is evictable in 2 s.
        Assert.Equal(TimeSpan.FromMilliseconds(2000), plan.RetryAfter);
        Assert.Contains("--eviction-min-idle", plan.Refusal);
        Assert.Contains("used in the last 5 s", plan.Refusal);
    }

    [Fact]
    public void A_load_that_cannot_fit_even_after_evicting_everything_unpinned_is_refused_naming_the_budget_and_the_sizes()
    {
        var plan = Plan(Cpu300, VersionFootprint.Cpu(250 * Mb, false), 0, Model("pinned", 100, 10, pinned: true), Model("a", 100, 20));
        Assert.False(plan.Fits);
        Assert.Null(plan.RetryAfter);
        Assert.Equal(
            "model 'new' version 1 cannot load: it needs 250000000 bytes (238.4 MiB) of CPU memory (estimated) and the --model-memory-budget of 300000000 bytes (286.1 MiB) "
            + "has 100000000 bytes (95.4 MiB) free (200000000 bytes (190.7 MiB) loaded, 100000000 bytes (95.4 MiB) of it pinned or in use); "
            + "it cannot fit even after evicting every model that is not pinned",
            plan.Refusal);
    }

    [Fact]
    public void A_gpu_budget_evicts_only_models_that_hold_memory_on_that_gpu()
    {
        var budgets = new MemoryBudgets(null, new Dictionary<int, long> { [0] = 4000 * Mb });
        var onGpu = new EvictionCandidate("gpu", new VersionFootprint(10 * Mb, new Dictionary<int, long> { [0] = 3000 * Mb }, true), Now - 10, false);
        var cpuOnly = new EvictionCandidate("cpu", VersionFootprint.Cpu(500 * Mb, true), Now - 100, false);
        var need = new VersionFootprint(10 * Mb, new Dictionary<int, long> { [0] = 2000 * Mb }, false);
        var used = new VersionFootprint(510 * Mb, new Dictionary<int, long> { [0] = 3000 * Mb }, true);

        var plan = EvictionPolicy.Plan("model 'new' version 1", budgets, used, need, [onGpu, cpuOnly], Now, 0);
        Assert.Equal(["gpu"], plan.Victims.Select(v => v.Model));

        var tooBig = new VersionFootprint(0, new Dictionary<int, long> { [0] = 5000 * Mb }, false);
        plan = EvictionPolicy.Plan("model 'new' version 1", budgets, used, tooBig, [onGpu, cpuOnly], Now, 0);
        Assert.Contains("memory of GPU 0", plan.Refusal);
        Assert.Contains("--gpu-memory-budget 0 of 4000000000 bytes", plan.Refusal);
    }
    [Fact]
    public void Where_the_budget_counts_the_process_the_servers_own_memory_takes_room_that_no_eviction_gives_back()
    {
        var a = Model("a", 100, idleMs: 30);
        var b = Model("b", 100, idleMs: 20);
        var need = VersionFootprint.Cpu(50 * Mb, true);
        // The models alone leave 100 MB: a 50 MB load fits without evicting.
        Assert.Empty(Plan(Cpu300, need, 0, a, b).Victims);
        // The server grew by 80 MB under traffic: 280 MB taken, so the least recently used goes first.
        var plan = EvictionPolicy.Plan("model 'new' version 1", Cpu300, Used(a, b), need, [a, b], Now, 0, serverBytes: 80 * Mb);
        Assert.Equal(["a"], plan.Victims.Select(v => v.Model));

        // With 260 MB of it the load cannot fit even with every model gone, and the reason names the server's share.
        var refused = EvictionPolicy.Plan("model 'new' version 1", Cpu300, Used(a, b), need, [a, b], Now, 0, serverBytes: 260 * Mb);
        Assert.False(refused.Fits);
        Assert.Contains("--model-memory-budget of 300000000 bytes", refused.Refusal);
        Assert.Contains("--model-memory-budget-counts process", refused.Refusal);
        Assert.Contains("260000000 bytes (248.0 MiB) of what is loaded is the server's own memory", refused.Refusal);
    }

    [Fact]
    public void The_servers_growth_alone_evicts_the_least_recently_used_idle_unpinned_models_until_the_process_fits()
    {
        var hot = Model("hot", 100, idleMs: 0);
        var warm = Model("warm", 100, idleMs: 200);
        var cold = Model("cold", 50, idleMs: 900);
        var pinned = Model("pinned", 50, idleMs: 5000, pinned: true);
        var busy = Model("busy", 50, idleMs: 3000) with { InUse = true };
        var budget = new MemoryBudgets(400 * Mb, new Dictionary<int, long>());
        EvictionCandidate[] resident = [hot, warm, cold, pinned, busy];

        // 350 MB of models and 40 MB of the server's own: within 400 MB, nothing goes.
        Assert.Empty(EvictionPolicy.Relieve(budget, Used(resident), 40 * Mb, resident));
        // 120 MB of the server's own: 70 over. The coldest idle unpinned model (50) is not enough; the next (warm) is.
        Assert.Equal(["cold", "warm"], EvictionPolicy.Relieve(budget, Used(resident), 120 * Mb, resident).Select(v => v.Model));
        // However far over, a pinned model and one with a request running stay.
        Assert.Equal(["cold", "warm", "hot"], EvictionPolicy.Relieve(budget, Used(resident), 1000 * Mb, resident).Select(v => v.Model));
        // Without a CPU budget there is nothing to hold.
        Assert.Empty(EvictionPolicy.Relieve(MemoryBudgets.None, Used(resident), 1000 * Mb, resident));
    }
}
