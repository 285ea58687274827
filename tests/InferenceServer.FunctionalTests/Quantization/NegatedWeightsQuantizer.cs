using System.Buffers.Binary;
using InferenceServer.Core.Quantization;
using InferenceServer.Core.Tensors;

namespace InferenceServer.FunctionalTests.Quantization;

/// <summary>
/// A deliberately BROKEN quantizer, for the tests in which the accuracy gate must refuse a variant: it "quantizes" by
/// copying the FP32 model with its largest weight tensor negated, so the variant loads and runs like the parent but
/// answers differently. It finds that tensor without an ONNX parser: the largest length-delimited field 9
/// (<c>TensorProto.raw_data</c>, tag byte 0x4A) whose bytes read as small finite floats. Asked for fp16 and given the
/// real quantizer, it makes the real fp16 variant (with FP16 inputs and outputs when asked) of that broken copy, so that
/// the gate's FP16 path meets a broken variant too.
/// </summary>
internal sealed class NegatedWeightsQuantizer(IModelQuantizer? real = null) : IModelQuantizer
{
    /// <summary>How many times it was asked for a variant: a cached variant is not asked for again.</summary>
    public int Calls { get; private set; }

    public QuantizationReport Quantize(string parentPath, string variantPath, QuantizeSettings settings, IReadOnlyList<IReadOnlyList<Tensor>> calibration,
        CancellationToken cancellationToken = default)
    {
        Calls++;
        var bytes = File.ReadAllBytes(parentPath);
        var (start, length) = LargestRawData(bytes);
        for (var at = start; at < start + length; at += 4)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(at), -BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(at)));
        }
        if (settings.Method == QuantizationMethod.Fp16 && real is not null)
        {
            var negated = variantPath + ".negated";
            File.WriteAllBytes(negated, bytes);
            try
            {
                return real.Quantize(negated, variantPath, settings, calibration, cancellationToken);
            }
            finally
            {
                File.Delete(negated);
            }
        }
        File.WriteAllBytes(variantPath, bytes);
        return new QuantizationReport(new Dictionary<string, int> { ["MatMul"] = 1 }, [], bytes.Length, bytes.Length);
    }

    // A 0x4A byte inside other data may read as a plausible length; trained weights are finite and small, other bytes are not.
    private static bool LooksLikeWeights(ReadOnlySpan<byte> data)
    {
        for (var at = 0; at < data.Length; at += 4)
        {
            var value = BinaryPrimitives.ReadSingleLittleEndian(data[at..]);
            if (!float.IsFinite(value) || Math.Abs(value) > 100)
            {
                return false;
            }
        }
        return true;
    }

    private static (int Start, int Length) LargestRawData(byte[] bytes)
    {
        var best = (Start: 0, Length: 0);
        for (var i = 0; i < bytes.Length - 3; i++)
        {
            if (bytes[i] != 0x4A)
            {
                continue;
            }
            long length = 0;
            var shift = 0;
            var at = i + 1;
            while (at < bytes.Length && shift < 35)
            {
                length |= (long)(bytes[at] & 0x7F) << shift;
                shift += 7;
                if ((bytes[at++] & 0x80) == 0)
                {
                    break;
                }
            }
            if (length >= 1024 && length % 4 == 0 && at + length <= bytes.Length && length > best.Length && LooksLikeWeights(bytes.AsSpan(at, (int)length)))
            {
                best = (at, (int)length);
            }
        }
        return best.Length > 0 ? best : throw new QuantizationException("no weight tensor of raw floats found to break");
    }
}
