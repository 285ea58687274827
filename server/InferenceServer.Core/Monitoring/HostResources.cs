using System.Globalization;

namespace InferenceServer.Core.Monitoring;

/// <summary>Reads the machine's CPU times and memory from Linux's /proc, as Triton's CPU metrics do.</summary>
internal static class HostResources
{
    /// <summary>Aggregate CPU jiffies: busy (everything but idle and iowait) and total; false off Linux or when unreadable.</summary>
    public static bool TryReadCpuTimes(out CpuTimes times)
    {
        times = default;
        try
        {
            using var reader = new StreamReader("/proc/stat");
            return TryParseCpuLine(reader.ReadLine(), out times);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Parses the aggregate <c>cpu</c> line of /proc/stat (user nice system idle iowait irq softirq steal ...).</summary>
    public static bool TryParseCpuLine(string? line, out CpuTimes times)
    {
        times = default;
        if (line is null || !line.StartsWith("cpu ", StringComparison.Ordinal))
        {
            return false;
        }
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 5)
        {
            return false;
        }
        // Guest time is already inside user/nice, so only the first eight columns add up to the total.
        long total = 0, idle = 0;
        for (var i = 1; i < fields.Length && i <= 8; i++)
        {
            if (!long.TryParse(fields[i], NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                return false;
            }
            total += value;
            if (i is 4 or 5)
            {
                idle += value;
            }
        }
        times = new CpuTimes(total - idle, total);
        return true;
    }

    /// <summary>Total and used (total minus available) memory in bytes; false off Linux or when unreadable.</summary>
    public static bool TryReadMemory(out long totalBytes, out long usedBytes)
    {
        totalBytes = usedBytes = 0;
        try
        {
            return TryParseMemInfo(File.ReadAllText("/proc/meminfo"), out totalBytes, out usedBytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Parses /proc/meminfo's MemTotal and MemAvailable (kB).</summary>
    public static bool TryParseMemInfo(string text, out long totalBytes, out long usedBytes)
    {
        totalBytes = usedBytes = 0;
        long? total = null, available = null;
        foreach (var line in text.Split('\n'))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                continue;
            }
            var name = line.AsSpan(0, colon);
            if (!name.SequenceEqual("MemTotal") && !name.SequenceEqual("MemAvailable"))
            {
                continue;
            }
            var rest = line.AsSpan(colon + 1).Trim();
            var space = rest.IndexOf(' ');
            if (!long.TryParse(space < 0 ? rest : rest[..space], NumberStyles.None, CultureInfo.InvariantCulture, out var kb))
            {
                return false;
            }
            if (name.SequenceEqual("MemTotal"))
            {
                total = kb * 1024;
            }
            else
            {
                available = kb * 1024;
            }
        }
        if (total is null || available is null || available > total)
        {
            return false;
        }
        totalBytes = total.Value;
        usedBytes = total.Value - available.Value;
        return true;
    }
}
