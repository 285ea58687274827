using InferenceServer.Core.Devices;

namespace InferenceServer.Tests.Common;

/// <summary>
/// GPUs whose memory and utilization a test sets: each device has a fixed total and a used figure the test moves (as a
/// model load would) and may make unreadable (as a driver error would). Thread-safe: the server reads it from scrapes
/// and loads while the test writes.
/// </summary>
internal sealed class ScriptedGpuDevices : IGpuDevices
{
    private readonly long[] _total;
    private readonly long[] _used;
    private readonly long[] _utilizationBits;
    private readonly int[] _unreadable;

    /// <summary>
    /// Devices with ordinals 0.., each with total memory <paramref name="totalBytes"/>[i], nothing used and idle. Names
    /// are "Scripted GPU i" and UUIDs "GPU-" followed by a fixed, distinct pattern, as NVML spells them.
    /// </summary>
    public ScriptedGpuDevices(params long[] totalBytes)
    {
        if (totalBytes.Length == 0)
        {
            throw new ArgumentException("give at least one device's total memory (a machine without GPUs is NoGpuDevices)", nameof(totalBytes));
        }
        var devices = new GpuDevice[totalBytes.Length];
        for (var i = 0; i < totalBytes.Length; i++)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(totalBytes[i], nameof(totalBytes));
            devices[i] = new GpuDevice(i, $"Scripted GPU {i}", $"GPU-{i:x8}-5c71-4e0a-9d1b-{i:x12}");
        }
        Devices = devices;
        _total = (long[])totalBytes.Clone();
        _used = new long[totalBytes.Length];
        _utilizationBits = new long[totalBytes.Length];
        _unreadable = new int[totalBytes.Length];
    }

    /// <inheritdoc/>
    public IReadOnlyList<GpuDevice> Devices { get; }

    /// <summary>Sets device <paramref name="index"/>'s used memory, between 0 and its total.</summary>
    public void SetUsed(int index, long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bytes, _total[index]);
        Volatile.Write(ref _used[index], bytes);
    }

    /// <summary>Adds <paramref name="bytes"/> (negative to free) to device <paramref name="index"/>'s used memory, held within [0, total]; returns the new figure.</summary>
    public long AddUsed(int index, long bytes)
    {
        while (true)
        {
            var current = Volatile.Read(ref _used[index]);
            var next = Math.Clamp(current + bytes, 0, _total[index]);
            if (Interlocked.CompareExchange(ref _used[index], next, current) == current)
            {
                return next;
            }
        }
    }

    /// <summary>Sets device <paramref name="index"/>'s utilization, in [0, 1].</summary>
    public void SetUtilization(int index, double utilization)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(utilization);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(utilization, 1);
        Volatile.Write(ref _utilizationBits[index], BitConverter.DoubleToInt64Bits(utilization));
    }

    /// <summary>Makes device <paramref name="index"/>'s readings fail (true) or succeed again (false).</summary>
    public void SetUnreadable(int index, bool unreadable) => Volatile.Write(ref _unreadable[index], unreadable ? 1 : 0);

    /// <inheritdoc/>
    public bool TryReadMemory(int index, out GpuMemory memory)
    {
        memory = default;
        if (!Readable(index))
        {
            return false;
        }
        memory = new GpuMemory(_total[index], Volatile.Read(ref _used[index]));
        return true;
    }

    /// <inheritdoc/>
    public bool TryReadUtilization(int index, out double utilization)
    {
        utilization = 0;
        if (!Readable(index))
        {
            return false;
        }
        utilization = BitConverter.Int64BitsToDouble(Volatile.Read(ref _utilizationBits[index]));
        return true;
    }

    private bool Readable(int index) => (uint)index < (uint)_total.Length && Volatile.Read(ref _unreadable[index]) == 0;
}
