using System.Globalization;

namespace InferenceServer.Core.Residency;

/// <summary>One <c>--gpu-memory-budget &lt;device&gt;:&lt;bytes|fraction&gt;</c>: the device memory the models may hold on one GPU.</summary>
internal readonly record struct GpuMemoryBudget(int Device, MemorySize Size)
{
    /// <summary>Reads <paramref name="text"/>; false (with what was expected in <paramref name="problem"/>) when it does not read.</summary>
    public static bool TryParse(string text, out GpuMemoryBudget budget, out string problem)
    {
        budget = default;
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || !int.TryParse(text.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var device))
        {
            problem = "<device>:<bytes|fraction>, e.g. 0:0.8 or 1:16Gi (the device is the GPU's CUDA ordinal)";
            return false;
        }
        if (!MemorySize.TryParse(text[(colon + 1)..], out var size, out problem))
        {
            problem = $"after '{device}:' {problem}";
            return false;
        }
        budget = new GpuMemoryBudget(device, size);
        return true;
    }
}
