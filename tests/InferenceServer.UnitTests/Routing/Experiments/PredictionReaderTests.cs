using System.Buffers.Binary;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Routing.Experiments;
using InferenceServer.Core.Tensors;

namespace InferenceServer.UnitTests.Routing.Experiments;

/// <summary>The prediction an outcome label is compared with, read from the response's prediction output.</summary>
public sealed class PredictionReaderTests
{
    private static Tensor Fp32(string name, params float[] values)
    {
        var data = new byte[values.Length * 4];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(i * 4), values[i]);
        }
        return Tensor.Copy(name, DataType.Fp32, [values.Length, 1], data);
    }

    [Fact]
    public void The_prediction_is_the_first_value_of_the_named_output()
    {
        using var response = new InferenceResponse("income", "1", "r1", [Fp32("logits", 7f), Fp32("probability", 0.75f, 0.1f)]);
        Assert.Equal(0.75, PredictionReader.FirstValue(response, "probability"));
        Assert.Equal(7.0, PredictionReader.FirstValue(response, "logits"));
    }

    [Fact]
    public void Other_number_types_read_as_their_value()
    {
        var int64 = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(int64, -3);
        var fp16 = new byte[2];
        BinaryPrimitives.WriteHalfLittleEndian(fp16, (Half)0.5f);
        var fp64 = new byte[8];
        BinaryPrimitives.WriteDoubleLittleEndian(fp64, 0.125);
        using var response = new InferenceResponse("m", "1", "r1",
        [
            Tensor.Copy("i64", DataType.Int64, [1], int64),
            Tensor.Copy("f16", DataType.Fp16, [1], fp16),
            Tensor.Copy("f64", DataType.Fp64, [1], fp64),
            Tensor.Copy("flag", DataType.Bool, [1], [1]),
            Tensor.Copy("bf16", DataType.Bf16, [1], [0x40, 0x3F]), // 0x3F40: 0.75
        ]);
        Assert.Equal(-3.0, PredictionReader.FirstValue(response, "i64"));
        Assert.Equal(0.5, PredictionReader.FirstValue(response, "f16"));
        Assert.Equal(0.125, PredictionReader.FirstValue(response, "f64"));
        Assert.Equal(1.0, PredictionReader.FirstValue(response, "flag"));
        Assert.Equal(0.75, PredictionReader.FirstValue(response, "bf16"));
    }

    [Fact]
    public void No_prediction_when_the_output_is_missing_empty_or_not_numbers()
    {
        var text = new byte[] { 1, 0, 0, 0, (byte)'x' };
        using var response = new InferenceResponse("m", "1", "r1",
        [
            Tensor.Copy("empty", DataType.Fp32, [0, 1], []),
            Tensor.Copy("label", DataType.Bytes, [1], text),
        ]);
        Assert.Null(PredictionReader.FirstValue(response, "probability"));
        Assert.Null(PredictionReader.FirstValue(response, "empty"));
        Assert.Null(PredictionReader.FirstValue(response, "label"));
    }
}
