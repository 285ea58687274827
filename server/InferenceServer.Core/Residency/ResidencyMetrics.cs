using System.Globalization;
using InferenceServer.Core.Models;
using Prometheus;

namespace InferenceServer.Core.Residency;

/// <summary>
/// The memory budgets on the metrics endpoint, read when scraped. Triton has no such series; ours are named in its style:
/// <c>nv_model_memory_bytes{model,version,device}</c> (each loaded version's footprint; device is <c>cpu</c> or the GPU's
/// ordinal), <c>nv_model_memory_budget_bytes{device}</c> and <c>nv_model_memory_headroom_bytes{device}</c> (only for the
/// budgets set), <c>nv_model_eviction_count</c> and <c>nv_model_cold_start_waiting</c> (requests waiting for a load).
/// </summary>
public sealed class ResidencyMetrics
{
    private readonly ModelRegistry _registry;
    private readonly ModelResidency _residency;
    private readonly OnDemandLoads _onDemand;
    private readonly Gauge _footprint;
    private readonly Gauge _budget;
    private readonly Gauge _headroom;
    private readonly Gauge _waiting;

    /// <summary>Creates the series in the server's <paramref name="registry"/>.</summary>
    internal ResidencyMetrics(CollectorRegistry registry, ModelRegistry models, ModelResidency residency, OnDemandLoads onDemand)
    {
        _registry = models;
        _residency = residency;
        _onDemand = onDemand;
        var factory = Metrics.WithCustomRegistry(registry);
        _footprint = factory.CreateGauge("nv_model_memory_bytes", "Memory a loaded model version holds, in bytes (measured across its load)",
            new GaugeConfiguration { LabelNames = ["model", "version", "device"] });
        _budget = factory.CreateGauge("nv_model_memory_budget_bytes", "Memory budget of the loaded models, in bytes (--model-memory-budget, --gpu-memory-budget)",
            new GaugeConfiguration { LabelNames = ["device"] });
        _headroom = factory.CreateGauge("nv_model_memory_headroom_bytes", "Memory budget less what the loaded models hold, in bytes",
            new GaugeConfiguration { LabelNames = ["device"] });
        var evictions = factory.CreateCounter("nv_model_eviction_count", "Number of model unloads made to fit a memory budget");
        _waiting = factory.CreateGauge("nv_model_cold_start_waiting", "Number of requests waiting for their model to load (on-demand mode)");
        residency.Evicted += () => evictions.Inc();
        registry.AddBeforeCollectCallback(Update);
    }

    private void Update()
    {
        var seen = new HashSet<(string, string, string)>();
        foreach (var entry in _registry.Snapshot.Models.Values)
        {
            foreach (var version in entry.Versions.Values)
            {
                var footprint = version.Footprint;
                if (version.State != ModelState.Ready || footprint == VersionFootprint.None)
                {
                    continue;
                }
                Set(seen, entry.Name, version.VersionText, "cpu", footprint.CpuBytes);
                foreach (var (device, bytes) in footprint.GpuBytes)
                {
                    Set(seen, entry.Name, version.VersionText, device.ToString(CultureInfo.InvariantCulture), bytes);
                }
            }
        }
        foreach (var labels in _footprint.GetAllLabelValues())
        {
            if (!seen.Contains((labels[0], labels[1], labels[2])))
            {
                _footprint.RemoveLabelled(labels);
            }
        }
        var budgets = _residency.Budgets;
        var used = _residency.Used();
        if (budgets.CpuBytes is { } cpu)
        {
            _budget.WithLabels("cpu").Set(cpu);
            // Where the budget counts the process, the server's own memory takes room too.
            _headroom.WithLabels("cpu").Set(cpu - used.CpuBytes - _residency.ServerOwnBytes);
        }
        foreach (var (device, bytes) in budgets.GpuBytes)
        {
            var label = device.ToString(CultureInfo.InvariantCulture);
            _budget.WithLabels(label).Set(bytes);
            _headroom.WithLabels(label).Set(bytes - used.Gpu(device));
        }
        _waiting.Set(_onDemand.Waiting);
    }

    private void Set(HashSet<(string, string, string)> seen, string model, string version, string device, long bytes)
    {
        seen.Add((model, version, device));
        _footprint.WithLabels(model, version, device).Set(bytes);
    }
}
