using InferenceServer.Core.Devices;
using Prometheus;

namespace InferenceServer.Core.Monitoring;

/// <summary>
/// Triton's GPU metrics, one series per device labelled by its UUID: total and used memory and utilization, read from
/// the devices when the metrics are scraped (no polling thread). Without a GPU the families are not created at all; a
/// device that cannot be read at a scrape drops out of it rather than repeating a stale figure.
/// </summary>
public sealed class GpuMetrics
{
    private readonly IGpuDevices _devices;
    private readonly Gauge.Child[] _utilization;
    private readonly Gauge.Child[] _memoryTotal;
    private readonly Gauge.Child[] _memoryUsed;

    /// <summary>Creates the gauges in the server's <paramref name="registry"/> for each of <paramref name="devices"/>.</summary>
    public GpuMetrics(CollectorRegistry registry, IGpuDevices devices)
    {
        _devices = devices;
        var list = devices.Devices;
        _utilization = new Gauge.Child[list.Count];
        _memoryTotal = new Gauge.Child[list.Count];
        _memoryUsed = new Gauge.Child[list.Count];
        if (list.Count == 0)
        {
            return;
        }
        var factory = Metrics.WithCustomRegistry(registry);
        // Unpublished until the first successful read.
        var perDevice = new GaugeConfiguration { LabelNames = ["gpu_uuid"], SuppressInitialValue = true };
        var utilization = factory.CreateGauge("nv_gpu_utilization", "GPU utilization rate [0.0 - 1.0)", perDevice);
        var memoryTotal = factory.CreateGauge("nv_gpu_memory_total_bytes", "GPU total memory, in bytes", perDevice);
        var memoryUsed = factory.CreateGauge("nv_gpu_memory_used_bytes", "GPU used memory, in bytes", perDevice);
        for (var i = 0; i < list.Count; i++)
        {
            _utilization[i] = utilization.WithLabels(list[i].Uuid);
            _memoryTotal[i] = memoryTotal.WithLabels(list[i].Uuid);
            _memoryUsed[i] = memoryUsed.WithLabels(list[i].Uuid);
        }
        registry.AddBeforeCollectCallback(Update);
    }

    private void Update()
    {
        var list = _devices.Devices;
        // The list is fixed when the server starts; the bound only guards against a reader that shrank it.
        for (var i = 0; i < _utilization.Length && i < list.Count; i++)
        {
            var index = list[i].Index;
            if (_devices.TryReadMemory(index, out var memory))
            {
                _memoryTotal[i].Set(memory.TotalBytes);
                _memoryUsed[i].Set(memory.UsedBytes);
            }
            else
            {
                _memoryTotal[i].Unpublish();
                _memoryUsed[i].Unpublish();
            }
            if (_devices.TryReadUtilization(index, out var utilization))
            {
                _utilization[i].Set(utilization);
            }
            else
            {
                _utilization[i].Unpublish();
            }
        }
    }
}
