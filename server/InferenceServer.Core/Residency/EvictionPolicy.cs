using System.Globalization;

namespace InferenceServer.Core.Residency;

/// <summary>
/// Decides what a load must evict to fit the budgets: the least recently used unpinned models first, never one used within
/// the anti-thrash window (<c>--eviction-min-idle</c>), and only models that free memory where the load is short of it.
/// Pure: the caller supplies the clock and what is loaded, so the order is tested without a server.
/// </summary>
internal static class EvictionPolicy
{
    /// <summary>
    /// The plan for loading <paramref name="loading"/> (a name for the messages, e.g. "model 'm' version 1"), which needs
    /// <paramref name="need"/> on top of <paramref name="used"/> (what every loaded version holds), given the loaded models
    /// <paramref name="resident"/> that could make room, the time <paramref name="nowMs"/> and the window <paramref name="minIdleMs"/>.
    /// Where the CPU budget counts the process, <paramref name="serverBytes"/> is the server's own memory above its empty state
    /// (<see cref="ServerMemory.OwnBytes"/>): it takes room like a pinned model, as no eviction gives it back.
    /// </summary>
    public static EvictionPlan Plan(string loading, MemoryBudgets budgets, VersionFootprint used, VersionFootprint need,
        IReadOnlyList<EvictionCandidate> resident, long nowMs, long minIdleMs, long serverBytes = 0)
    {
        var plan = PlanModels(loading, budgets, serverBytes > 0 ? used with { CpuBytes = used.CpuBytes + serverBytes } : used, need, resident, nowMs, minIdleMs);
        return plan.Refusal is { } refusal && serverBytes > 0 && need.CpuRoomBytes > 0 && budgets.CpuBytes is not null
            ? plan with { Refusal = refusal + $"; the budget counts the process (--model-memory-budget-counts process), and {Bytes(serverBytes)} of what is loaded is the server's own memory above its empty state, not a model's" }
            : plan;
    }

    /// <summary>
    /// The models to evict because the process went over the CPU budget by itself, with no load asking (the budget counts the
    /// process, <paramref name="serverBytes"/> grew under traffic): the least recently used unpinned ones first, none with a
    /// request running, until what is loaded (<paramref name="used"/>) and the server's own memory fit. Not bound by the
    /// anti-thrash window, which keeps hot models from being evicted for a cold one: the budget is the process's limit, and
    /// the models that go are the coldest loaded. Empty when it fits, or when nothing can go.
    /// </summary>
    public static IReadOnlyList<EvictionCandidate> Relieve(MemoryBudgets budgets, VersionFootprint used, long serverBytes, IReadOnlyList<EvictionCandidate> resident)
    {
        if (budgets.CpuBytes is not { } cpu || used.CpuBytes + serverBytes <= cpu)
        {
            return [];
        }
        var over = used.CpuBytes + serverBytes - cpu;
        var victims = new List<EvictionCandidate>();
        foreach (var candidate in resident.Where(c => !c.Pinned && !c.InUse && c.Footprint.CpuBytes > 0)
            .OrderBy(c => c.LastUsedMs).ThenBy(c => c.Model, StringComparer.Ordinal))
        {
            victims.Add(candidate);
            over -= candidate.Footprint.CpuBytes;
            if (over <= 0)
            {
                break;
            }
        }
        return victims;
    }

    private static EvictionPlan PlanModels(string loading, MemoryBudgets budgets, VersionFootprint used, VersionFootprint need,
        IReadOnlyList<EvictionCandidate> resident, long nowMs, long minIdleMs)
    {
        if (Shortfall(budgets, used, need) is null)
        {
            return new EvictionPlan([], null, null);
        }
        var unpinned = resident.Where(c => !c.Pinned)
            .OrderBy(c => c.LastUsedMs).ThenBy(c => c.Model, StringComparer.Ordinal).ToList();
        var pinned = Subtract(used, unpinned);
        if (Shortfall(budgets, pinned, need) is not null)
        {
            return new EvictionPlan([], $"{loading} cannot load: {Describe(Shortfall(budgets, used, need)!, need, used, pinned)}; it cannot fit even after evicting every model that is not pinned", null);
        }

        var victims = new List<EvictionCandidate>();
        var remaining = used;
        foreach (var candidate in unpinned)
        {
            var idle = nowMs - candidate.LastUsedMs;
            if (idle < minIdleMs)
            {
                // Sorted by last use: every later candidate is more recent still. Wait until this one has been idle long enough.
                // Everything still loaded is pinned or in the window.
                var shortfall = Shortfall(budgets, remaining, need)!;
                return new EvictionPlan([],
                    $"{loading} cannot load now: {Describe(shortfall, need, used, remaining)}; the rest is held by models used in the last "
                    + $"{Seconds(minIdleMs)} s, which are not evicted for a model that is not loaded (--eviction-min-idle)",
                    TimeSpan.FromMilliseconds(minIdleMs - idle));
            }
            if (!Frees(candidate.Footprint, budgets, remaining, need))
            {
                continue;
            }
            victims.Add(candidate);
            remaining = Subtract(remaining, [candidate]);
            if (Shortfall(budgets, remaining, need) is null)
            {
                return new EvictionPlan(victims, null, null);
            }
        }
        // Unreachable in practice: with every unpinned model evicted it fits (checked above).
        return new EvictionPlan([], $"{loading} cannot load: {Describe(Shortfall(budgets, remaining, need)!, need, remaining, pinned)}", null);
    }

    /// <summary>The first budget that <paramref name="used"/> plus <paramref name="need"/> exceeds, or null when all hold.</summary>
    private static Shortfall? Shortfall(MemoryBudgets budgets, VersionFootprint used, VersionFootprint need)
    {
        // A load needs room for its peak while it runs (what it holds once loaded is less): the budget bounds the process's memory, loads included.
        if (budgets.CpuBytes is { } cpu && need.CpuRoomBytes > 0 && used.CpuBytes + need.CpuRoomBytes > cpu)
        {
            return new Shortfall("CPU memory", "--model-memory-budget", null, cpu, used.CpuBytes, need.CpuRoomBytes);
        }
        foreach (var (device, budget) in budgets.GpuBytes.OrderBy(p => p.Key))
        {
            if (need.Gpu(device) > 0 && used.Gpu(device) + need.Gpu(device) > budget)
            {
                return new Shortfall($"memory of GPU {device}", $"--gpu-memory-budget {device}", device, budget, used.Gpu(device), need.Gpu(device));
            }
        }
        return null;
    }

    // True when evicting footprint frees memory in a resource the load is short of.
    private static bool Frees(VersionFootprint footprint, MemoryBudgets budgets, VersionFootprint used, VersionFootprint need)
    {
        if (budgets.CpuBytes is { } cpu && need.CpuRoomBytes > 0 && used.CpuBytes + need.CpuRoomBytes > cpu && footprint.CpuBytes > 0)
        {
            return true;
        }
        foreach (var (device, budget) in budgets.GpuBytes)
        {
            if (need.Gpu(device) > 0 && used.Gpu(device) + need.Gpu(device) > budget && footprint.Gpu(device) > 0)
            {
                return true;
            }
        }
        return false;
    }

    private static VersionFootprint Subtract(VersionFootprint total, IEnumerable<EvictionCandidate> gone)
    {
        var cpu = total.CpuBytes;
        var gpu = new Dictionary<int, long>(total.GpuBytes);
        foreach (var candidate in gone)
        {
            cpu -= candidate.Footprint.CpuBytes;
            foreach (var (device, bytes) in candidate.Footprint.GpuBytes)
            {
                gpu[device] = gpu.GetValueOrDefault(device) - bytes;
            }
        }
        return new VersionFootprint(cpu, gpu, total.Measured);
    }

    private static string Describe(Shortfall shortfall, VersionFootprint need, VersionFootprint used, VersionFootprint kept) =>
        string.Create(CultureInfo.InvariantCulture,
            $"it needs {Bytes(shortfall.Need)} of {shortfall.Resource}{(need.Measured ? "" : " (estimated)")}{(shortfall.Device is null && need.CpuLoadPeakBytes > need.CpuBytes ? " while it loads" : "")} and the {shortfall.Flag} of {Bytes(shortfall.Budget)} "
            + $"has {Bytes(Math.Max(0, shortfall.Budget - Pick(used, shortfall)))} free ({Bytes(Pick(used, shortfall))} loaded, {Bytes(Math.Max(0, Pick(kept, shortfall)))} of it pinned or in use)");

    // The same resource's bytes in another total.
    private static long Pick(VersionFootprint total, Shortfall shortfall) => shortfall.Device is { } device ? total.Gpu(device) : total.CpuBytes;

    /// <summary>Bytes as the messages spell them: exact, with MiB for the reader.</summary>
    public static string Bytes(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes ({bytes / 1048576.0:0.0} MiB)");

    private static string Seconds(long milliseconds) => (milliseconds / 1000.0).ToString("0.###", CultureInfo.InvariantCulture);
}
