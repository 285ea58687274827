using System.Diagnostics.Metrics;

namespace InferenceServer.Core.Monitoring;

/// <summary>
/// Triton's CPU metrics: utilization of the whole machine and its memory, observed when the
/// metrics are scraped. Utilization is the busy share of CPU time since the previous scrape (since
/// the server started, for the first one), so it needs no polling thread.
/// </summary>
public sealed class HostMetrics
{
    private readonly Lock _cpuLock = new();
    private CpuTimes _previous;
    private double _lastUtilization;

    /// <summary>Creates the gauges on the server's <see cref="InferenceMetrics.MeterName"/> meter.</summary>
    public HostMetrics(IMeterFactory meterFactory)
    {
        HostResources.TryReadCpuTimes(out _previous);
        var meter = meterFactory.Create(InferenceMetrics.MeterName);
        meter.CreateObservableGauge("nv_cpu_utilization", ObserveCpuUtilization, description: "CPU utilization rate [0.0 - 1.0]");
        meter.CreateObservableGauge("nv_cpu_memory_total_bytes", ObserveMemoryTotal, unit: "By", description: "CPU total memory (RAM), in bytes");
        meter.CreateObservableGauge("nv_cpu_memory_used_bytes", ObserveMemoryUsed, unit: "By", description: "CPU used memory (RAM), in bytes");
    }

    private IEnumerable<Measurement<double>> ObserveCpuUtilization()
    {
        if (!HostResources.TryReadCpuTimes(out var now))
        {
            yield break;
        }
        double utilization;
        lock (_cpuLock)
        {
            var total = now.Total - _previous.Total;
            // Two scrapes within one clock tick see no new jiffies; repeat the last reading then.
            if (total > 0)
            {
                _lastUtilization = Math.Clamp((double)(now.Busy - _previous.Busy) / total, 0, 1);
                _previous = now;
            }
            utilization = _lastUtilization;
        }
        yield return new Measurement<double>(utilization);
    }

    private static IEnumerable<Measurement<long>> ObserveMemoryTotal()
    {
        if (HostResources.TryReadMemory(out var total, out _))
        {
            yield return new Measurement<long>(total);
        }
    }

    private static IEnumerable<Measurement<long>> ObserveMemoryUsed()
    {
        if (HostResources.TryReadMemory(out _, out var used))
        {
            yield return new Measurement<long>(used);
        }
    }
}
