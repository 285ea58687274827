using System.Runtime.InteropServices;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Quantization;
using InferenceServer.Core.Tensors;
using InferenceServer.OnnxRuntime.Quantization.Onnx;

namespace InferenceServer.OnnxRuntime.Quantization;

/// <summary>
/// Measures the range of FP32 activations by running the FP32 model in ONNX Runtime on the calibration inputs, with the
/// activations added as graph outputs (<see cref="ModelProbe"/>).
/// <list type="bullet">
/// <item><see cref="CalibrationMethod.MinMax"/>: the smallest and largest value seen.</item>
/// <item><see cref="CalibrationMethod.Percentile"/>: the given percentile T of |x| over every value seen, from a
/// 4096-bin histogram of |x| (a second pass over the inputs, once the largest |x| is known). The range is [-T, T] when
/// any negative value was seen and [0, T] otherwise: symmetric for signed activations, and the whole uint8 range for
/// non-negative ones (ReLU outputs), so neither wastes half its codes.</item>
/// </list>
/// </summary>
internal static class ActivationCalibrator
{
    private const int Bins = 4096;

    public static Dictionary<string, (float Low, float High)> Measure(ModelProto model, IReadOnlyList<string> values,
        IReadOnlyList<IReadOnlyList<Tensor>> calibration, QuantizeSettings settings, CancellationToken cancellationToken)
    {
        var inputs = new HashSet<string>(StringComparer.Ordinal);
        foreach (var input in model.Graph.Input)
        {
            inputs.Add(input.Name);
        }
        // A graph input is read from the request itself; everything else is asked of the model as an extra output.
        var probed = values.Where(v => !inputs.Contains(v)).ToArray();
        ModelProbe probe;
        try
        {
            probe = ModelProbe.Open(model, probed);
        }
        catch (BackendException e)
        {
            throw new QuantizationException($"the model does not load in ONNX Runtime, so it cannot be calibrated: {ModelProbe.Reason(e)}", e);
        }

        using (probe)
        {
            var low = new Dictionary<string, float>(StringComparer.Ordinal);
            var high = new Dictionary<string, float>(StringComparer.Ordinal);
            var largest = new Dictionary<string, float>(StringComparer.Ordinal);
            foreach (var value in values)
            {
                low[value] = 0f;
                high[value] = 0f;
                largest[value] = 0f;
            }
            Pass(probe, probed, calibration, cancellationToken, (value, data) =>
            {
                if (!low.ContainsKey(value))
                {
                    return;
                }
                foreach (var x in data)
                {
                    if (float.IsFinite(x))
                    {
                        low[value] = MathF.Min(low[value], x);
                        high[value] = MathF.Max(high[value], x);
                    }
                }
                largest[value] = MathF.Max(-low[value], high[value]);
            });
            var ranges = new Dictionary<string, (float, float)>(StringComparer.Ordinal);
            if (settings.Calibration == CalibrationMethod.MinMax)
            {
                foreach (var value in values)
                {
                    ranges[value] = (low[value], high[value]);
                }
                return ranges;
            }

            if (!(settings.Percentile > 0 && settings.Percentile <= 100))
            {
                throw new QuantizationException($"percentile calibration needs a percentile in (0, 100], e.g. 99.99; got {settings.Percentile}");
            }
            var histograms = values.ToDictionary(v => v, _ => new long[Bins], StringComparer.Ordinal);
            Pass(probe, probed, calibration, cancellationToken, (value, data) =>
            {
                if (!histograms.TryGetValue(value, out var histogram))
                {
                    return;
                }
                var top = largest[value];
                if (top <= 0)
                {
                    return;
                }
                foreach (var x in data)
                {
                    if (float.IsFinite(x))
                    {
                        histogram[Math.Min(Bins - 1, (int)(MathF.Abs(x) / top * Bins))]++;
                    }
                }
            });
            foreach (var value in values)
            {
                var bound = PercentileBound(histograms[value], largest[value], settings.Percentile);
                ranges[value] = low[value] < 0 ? (-bound, bound) : (0f, bound);
            }
            return ranges;
        }
    }

    private static float PercentileBound(long[] histogram, float top, double percentile)
    {
        long total = 0;
        foreach (var count in histogram)
        {
            total += count;
        }
        if (total == 0 || top <= 0)
        {
            return top;
        }
        var wanted = (long)Math.Ceiling(total * percentile / 100.0);
        long seen = 0;
        for (var bin = 0; bin < histogram.Length; bin++)
        {
            seen += histogram[bin];
            if (seen >= wanted)
            {
                // The bin's upper edge, so the value at the percentile is inside the range.
                return top * (bin + 1) / Bins;
            }
        }
        return top;
    }

    private static void Pass(ModelProbe probe, string[] probed, IReadOnlyList<IReadOnlyList<Tensor>> calibration,
        CancellationToken cancellationToken, Action<string, ReadOnlySpan<float>> observe)
    {
        for (var i = 0; i < calibration.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var request = calibration[i];
            foreach (var tensor in request)
            {
                if (tensor.DataType == DataType.Fp32)
                {
                    observe(tensor.Name, MemoryMarshal.Cast<byte, float>(tensor.Data));
                }
            }
            if (probed.Length == 0)
            {
                continue;
            }
            Tensor[] outputs;
            try
            {
                outputs = probe.Instance.Run(request, probed);
            }
            catch (BackendException e)
            {
                throw new QuantizationException($"calibration input {i + 1} of {calibration.Count} does not run through the model: {e.Message}", e);
            }
            try
            {
                foreach (var output in outputs)
                {
                    observe(output.Name, MemoryMarshal.Cast<byte, float>(output.Data));
                }
            }
            finally
            {
                foreach (var output in outputs)
                {
                    output.Dispose();
                }
            }
        }
    }
}
