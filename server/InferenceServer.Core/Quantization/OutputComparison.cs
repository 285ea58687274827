using System.Globalization;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Quantization;

/// <summary>
/// Accumulates, batch by batch, how one output of a variant differs from its parent's: absolute errors, decisions and,
/// with labels, the scores for the AUC. The gate is no hot path: values are read into doubles, one array per batch.
/// </summary>
internal sealed class OutputComparison(string name, double threshold)
{
    private long _elements;
    private double _maxAbs;
    private double _sumAbs;
    private long _rows;
    private long _agreed;
    private string _decision = "";
    private readonly List<double> _parentScores = [];
    private readonly List<double> _variantScores = [];
    private readonly List<bool> _labels = [];
    private bool _scored = true;

    public string Name => name;

    /// <summary>
    /// Adds one batch's outputs. <paramref name="labels"/> has one label per batch row when the evaluation set has labels.
    /// Returns why the two cannot be compared (a different shape or type), or null.
    /// </summary>
    public string? Add(Tensor parent, Tensor variant, ReadOnlySpan<bool> labels, bool hasLabels)
    {
        if (!parent.Shape.AsSpan().SequenceEqual(variant.Shape))
        {
            return $"output '{name}' has shape {ShapeMath.Format(variant.Shape)} in the variant but {ShapeMath.Format(parent.Shape)} in the parent";
        }
        var expected = Values(parent);
        var actual = Values(variant);
        if (expected is null || actual is null)
        {
            return $"output '{name}' is {(expected is null ? parent : variant).DataType.ProtocolName()}, which the gate cannot compare as numbers";
        }
        for (var i = 0; i < expected.Length; i++)
        {
            var error = Math.Abs(expected[i] - actual[i]);
            if (double.IsNaN(error))
            {
                // NaN in one and not the other is as wrong as can be; NaN in both is agreement.
                error = double.IsNaN(expected[i]) && double.IsNaN(actual[i]) ? 0 : double.PositiveInfinity;
            }
            _maxAbs = Math.Max(_maxAbs, error);
            _sumAbs += error;
        }
        _elements += expected.Length;

        // The last dimension holds the scores a row decides among; a last dimension of 1 (or a scalar per row) is a
        // single probability, decided by the threshold.
        var width = parent.Shape.Length > 1 ? (int)Math.Max(1, parent.Shape[^1]) : 1;
        var rows = width == 0 ? 0 : expected.Length / width;
        _decision = width > 1 ? "argmax" : string.Create(CultureInfo.InvariantCulture, $">= {threshold:G6}");
        for (var r = 0; r < rows; r++)
        {
            var a = expected.AsSpan(r * width, width);
            var b = actual.AsSpan(r * width, width);
            var agree = width > 1 ? AccuracyMath.ArgMax(a) == AccuracyMath.ArgMax(b) : (a[0] >= threshold) == (b[0] >= threshold);
            if (agree)
            {
                _agreed++;
            }
        }
        _rows += rows;

        // A score per batch row: one value, or two class scores (the positive class's); a wider output has no single AUC.
        if (hasLabels && _scored && (width is 1 or 2) && rows == labels.Length)
        {
            for (var r = 0; r < rows; r++)
            {
                _parentScores.Add(expected[r * width + width - 1]);
                _variantScores.Add(actual[r * width + width - 1]);
                _labels.Add(labels[r]);
            }
        }
        else
        {
            _scored = false;
        }
        return null;
    }

    public OutputAccuracy Result()
    {
        double? parentAuc = null;
        double? variantAuc = null;
        if (_scored && _labels.Count > 0)
        {
            var labels = _labels.ToArray();
            parentAuc = AccuracyMath.Auc(_parentScores.ToArray(), labels);
            variantAuc = AccuracyMath.Auc(_variantScores.ToArray(), labels);
        }
        return new OutputAccuracy(name, _elements, _maxAbs, _elements == 0 ? 0 : _sumAbs / _elements, _decision, _rows,
            _rows == 0 ? 1 : (double)_agreed / _rows, parentAuc, variantAuc);
    }

    /// <summary>The tensor's elements as doubles; null for a type that holds no numbers (BYTES).</summary>
    internal static double[]? Values(Tensor tensor)
    {
        var type = tensor.DataType;
        if (type is DataType.Bytes or DataType.Invalid)
        {
            return null;
        }
        var size = type.ElementSize();
        var data = tensor.Data;
        var values = new double[data.Length / size];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = TensorElements.ToDouble(type, data, i);
        }
        return values;
    }
}
