using InferenceServer.Core.Quantization;

namespace InferenceServer.OnnxRuntime.Quantization;

/// <summary>What a transform did, node by node, gathered into the <see cref="QuantizationReport"/>.</summary>
internal sealed class QuantizationLog
{
    private readonly SortedDictionary<string, int> _quantized = new(StringComparer.Ordinal);
    private readonly List<string> _skipped = [];
    private readonly List<string> _notes = [];

    public int QuantizedCount { get; private set; }

    public void Quantized(string opType)
    {
        _quantized[opType] = _quantized.GetValueOrDefault(opType) + 1;
        QuantizedCount++;
    }

    /// <summary>A node of a quantizable type left as it was, e.g. <c>Conv 'dw1': depthwise (group 32) ...</c>.</summary>
    public void Skipped(string node, string why) => _skipped.Add($"{node}: {why}");

    public IReadOnlyList<string> SkippedNodes => _skipped;

    /// <summary>Something else the user should know, e.g. an operator set raised or values clamped.</summary>
    public void Note(string note) => _notes.Add(note);

    public QuantizationReport ToReport(long parentBytes, long variantBytes) =>
        new(new Dictionary<string, int>(_quantized, StringComparer.Ordinal), [.. _skipped], parentBytes, variantBytes) { Notes = [.. _notes] };

    /// <summary>Adds this log's entries to <paramref name="other"/> (a transform that tries several times keeps the last try's).</summary>
    public void CopyTo(QuantizationLog other)
    {
        foreach (var (opType, count) in _quantized)
        {
            other._quantized[opType] = other._quantized.GetValueOrDefault(opType) + count;
            other.QuantizedCount += count;
        }
        other._skipped.AddRange(_skipped);
        other._notes.AddRange(_notes);
    }
}
