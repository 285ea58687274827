using InferenceServer.Core.Devices;

namespace InferenceServer.Hosting;

/// <summary>
/// The GPUs as the driver's NVML library reports them. Opened once when the server starts: where the library is
/// missing, fails to start or finds no device, the server runs with no GPUs and says why in one log line. Memory and
/// utilization are read when asked (a metrics scrape, a model load being measured); NVML calls are thread-safe.
/// </summary>
internal sealed partial class NvmlGpuDevices : IGpuDevices, IDisposable
{
    private readonly nint[] _handles;
    private int _disposed;

    private NvmlGpuDevices(GpuDevice[] devices, nint[] handles)
    {
        Devices = devices;
        _handles = handles;
    }

    /// <inheritdoc/>
    public IReadOnlyList<GpuDevice> Devices { get; }

    /// <summary>
    /// Starts NVML and lists its devices; <see cref="NoGpuDevices.Instance"/> (after one log line saying why) where there
    /// is no library, no driver or no device. Never throws for a machine without a GPU.
    /// </summary>
    public static IGpuDevices Open(ILogger logger)
    {
        if (!OperatingSystem.IsLinux())
        {
            LogNoGpu(logger, $"NVML ({Nvml.Library}) is read on Linux only");
            return NoGpuDevices.Instance;
        }
        int result;
        try
        {
            result = Nvml.Init();
        }
        catch (DllNotFoundException)
        {
            LogNoGpu(logger, $"{Nvml.Library} was not found (it comes with the NVIDIA driver)");
            return NoGpuDevices.Instance;
        }
        catch (EntryPointNotFoundException)
        {
            LogNoGpu(logger, $"{Nvml.Library} has no nvmlInit_v2 (the NVIDIA driver is older than this server supports)");
            return NoGpuDevices.Instance;
        }
        if (result != Nvml.Success)
        {
            LogNoGpu(logger, $"NVML did not start: {Nvml.Describe(result)}");
            return NoGpuDevices.Instance;
        }
        if (ListDevices(out var devices, out var handles) is { } failure)
        {
            Nvml.Shutdown();
            LogNoGpu(logger, failure);
            return NoGpuDevices.Instance;
        }
        foreach (var device in devices)
        {
            LogGpu(logger, device.Index, device.Name, device.Uuid);
        }
        return new NvmlGpuDevices(devices, handles);
    }

    // Null when at least one device was listed; otherwise why none was.
    private static string? ListDevices(out GpuDevice[] devices, out nint[] handles)
    {
        devices = [];
        handles = [];
        var result = Nvml.DeviceGetCount(out var count);
        if (result != Nvml.Success)
        {
            return $"NVML could not count the GPUs: {Nvml.Describe(result)}";
        }
        if (count == 0)
        {
            return "NVML started but sees no GPU";
        }
        devices = new GpuDevice[count];
        handles = new nint[count];
        for (var i = 0; i < (int)count; i++)
        {
            result = Nvml.DeviceGetHandleByIndex((uint)i, out handles[i]);
            if (result != Nvml.Success)
            {
                // A device the driver cannot open (lost, or hidden from this container) would leave a gap in the
                // ordinals the backends use; better no GPU than a wrong one.
                devices = [];
                handles = [];
                return $"NVML could not open GPU {i}: {Nvml.Describe(result)}";
            }
            var uuid = Nvml.ReadUuid(handles[i]);
            if (string.IsNullOrEmpty(uuid))
            {
                // The metrics are labelled by UUID; without one the device cannot be told apart from the others.
                devices = [];
                handles = [];
                return $"NVML could not read GPU {i}'s UUID";
            }
            devices[i] = new GpuDevice(i, Nvml.ReadName(handles[i]) ?? "unknown", uuid);
        }
        return null;
    }

    /// <inheritdoc/>
    public bool TryReadMemory(int index, out GpuMemory memory)
    {
        memory = default;
        if (!TryHandle(index, out var handle) || Nvml.DeviceGetMemoryInfo(handle, out var info) != Nvml.Success)
        {
            return false;
        }
        memory = new GpuMemory((long)info.Total, (long)info.Used);
        return true;
    }

    /// <inheritdoc/>
    public bool TryReadUtilization(int index, out double utilization)
    {
        utilization = 0;
        if (!TryHandle(index, out var handle) || Nvml.DeviceGetUtilizationRates(handle, out var rates) != Nvml.Success)
        {
            return false;
        }
        utilization = Math.Clamp(rates.Gpu / 100.0, 0, 1);
        return true;
    }

    private bool TryHandle(int index, out nint handle)
    {
        handle = 0;
        if (Volatile.Read(ref _disposed) != 0 || (uint)index >= (uint)_handles.Length)
        {
            return false;
        }
        handle = _handles[index];
        return true;
    }

    /// <summary>Stops NVML (it counts starts, so this undoes only this reader's).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Nvml.Shutdown();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "No GPU: {Reason}; the server exports no GPU metrics")]
    private static partial void LogNoGpu(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "GPU {Index}: {Name} ({Uuid})")]
    private static partial void LogGpu(ILogger logger, int index, string name, string uuid);
}
