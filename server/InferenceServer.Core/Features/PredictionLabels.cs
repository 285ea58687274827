using System.Buffers.Binary;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Features;

/// <summary>
/// A response's outputs read through its feature view's prediction labels: the score of a row (the first value of
/// the view's prediction output in that row) and the label it falls on at the view's threshold.
/// </summary>
public static class PredictionLabels
{
    /// <summary>
    /// The label and score of row <paramref name="row"/> of <paramref name="response"/>; false when its inputs came from
    /// no feature view, the view declares no prediction, or the response lacks the prediction output (not asked for).
    /// </summary>
    public static bool TryRead(InferenceResponse response, int row, out string label, out double score)
    {
        label = "";
        score = 0;
        if (response.FeatureView?.Prediction is not { } prediction || Find(response, prediction.Output) is not { } output)
        {
            return false;
        }
        var rows = output.Shape.Length == 0 ? 1 : output.Shape[0];
        if (row >= rows || !TryRead(output, (int)(output.ElementCount / Math.Max(rows, 1)) * row, out score))
        {
            return false;
        }
        label = prediction.Label(score);
        return true;
    }

    /// <summary>The number of rows <paramref name="response"/> answers (the batch dimension of its first output).</summary>
    public static int Rows(InferenceResponse response) =>
        response.Outputs.Length == 0 || response.Outputs[0].Shape.Length == 0 ? 1 : (int)response.Outputs[0].Shape[0];

    private static Tensor? Find(InferenceResponse response, string name)
    {
        foreach (var output in response.Outputs)
        {
            if (string.Equals(output.Name, name, StringComparison.Ordinal))
            {
                return output;
            }
        }
        return null;
    }

    // Scores are floating point; an FP16 score is read widened. Another datatype has no score to compare with a threshold.
    private static bool TryRead(Tensor output, int element, out double value)
    {
        var data = output.Data;
        var size = output.DataType.ElementSize();
        if ((long)(element + 1) * size > data.Length)
        {
            value = 0;
            return false;
        }
        var bytes = data.Slice(element * size, size);
        (value, var ok) = output.DataType switch
        {
            DataType.Fp32 => (BinaryPrimitives.ReadSingleLittleEndian(bytes), true),
            DataType.Fp64 => (BinaryPrimitives.ReadDoubleLittleEndian(bytes), true),
            DataType.Fp16 => ((double)BinaryPrimitives.ReadHalfLittleEndian(bytes), true),
            _ => (0d, false),
        };
        return ok;
    }
}
