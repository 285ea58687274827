using InferenceServer.Core.Devices;

namespace InferenceServer.Tests.Common;

/// <summary>
/// GPUs whose memory the test scripts: each device has a total and a used amount the test sets (or adds to, as a model's
/// load would), read back through <see cref="IGpuDevices"/>. Utilization is not scripted (always unreadable).
/// </summary>
internal sealed class ScriptedGpuMemory : IGpuDevices
{
    private readonly long[] _total;
    private readonly long[] _used;

    /// <summary>Devices 0..n-1 with the given totals, nothing used.</summary>
    public ScriptedGpuMemory(params long[] totalBytes)
    {
        _total = totalBytes;
        _used = new long[totalBytes.Length];
        Devices = totalBytes.Select((_, i) => new GpuDevice(i, $"Scripted GPU {i}", $"GPU-scripted-{i}")).ToArray();
    }

    /// <inheritdoc/>
    public IReadOnlyList<GpuDevice> Devices { get; }

    /// <summary>Adds <paramref name="bytes"/> (negative: frees) to device <paramref name="index"/>'s used memory.</summary>
    public void Use(int index, long bytes) => Interlocked.Add(ref _used[index], bytes);

    /// <inheritdoc/>
    public bool TryReadMemory(int index, out GpuMemory memory)
    {
        if (index < 0 || index >= _total.Length)
        {
            memory = default;
            return false;
        }
        memory = new GpuMemory(_total[index], Interlocked.Read(ref _used[index]));
        return true;
    }

    /// <inheritdoc/>
    public bool TryReadUtilization(int index, out double utilization)
    {
        utilization = 0;
        return false;
    }
}
