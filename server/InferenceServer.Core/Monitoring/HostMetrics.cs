using Prometheus;

namespace InferenceServer.Core.Monitoring;

/// <summary>
/// Triton's CPU metrics: utilization of the whole machine and its memory, read when the metrics are
/// scraped. Utilization is the busy share of CPU time since the previous scrape (since the server
/// started, for the first one), so it needs no polling thread. Where /proc cannot be read the gauges
/// are left out rather than shown as 0.
/// </summary>
public sealed class HostMetrics
{
    private readonly Lock _cpuLock = new();
    private readonly Gauge _cpuUtilization;
    private readonly Gauge _memoryTotal;
    private readonly Gauge _memoryUsed;
    private CpuTimes _previous;
    private double _lastUtilization;

    /// <summary>Creates the gauges in the server's <paramref name="registry"/>.</summary>
    public HostMetrics(CollectorRegistry registry)
    {
        HostResources.TryReadCpuTimes(out _previous);
        var factory = Metrics.WithCustomRegistry(registry);
        // Unpublished until the first successful read.
        var unpublished = new GaugeConfiguration { SuppressInitialValue = true };
        _cpuUtilization = factory.CreateGauge("nv_cpu_utilization", "CPU utilization rate [0.0 - 1.0]", unpublished);
        _memoryTotal = factory.CreateGauge("nv_cpu_memory_total_bytes", "CPU total memory (RAM), in bytes", unpublished);
        _memoryUsed = factory.CreateGauge("nv_cpu_memory_used_bytes", "CPU used memory (RAM), in bytes", unpublished);
        registry.AddBeforeCollectCallback(Update);
    }

    private void Update()
    {
        if (HostResources.TryReadCpuTimes(out var now))
        {
            lock (_cpuLock)
            {
                var total = now.Total - _previous.Total;
                // Two scrapes within one clock tick see no new jiffies; repeat the last reading then.
                if (total > 0)
                {
                    _lastUtilization = Math.Clamp((double)(now.Busy - _previous.Busy) / total, 0, 1);
                    _previous = now;
                }
                _cpuUtilization.Set(_lastUtilization);
            }
        }
        if (HostResources.TryReadMemory(out var memoryTotal, out var memoryUsed))
        {
            _memoryTotal.Set(memoryTotal);
            _memoryUsed.Set(memoryUsed);
        }
    }
}
