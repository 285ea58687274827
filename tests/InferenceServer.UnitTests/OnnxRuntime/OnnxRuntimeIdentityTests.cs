using System.Buffers.Binary;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Tensors;
using InferenceServer.OnnxRuntime;

namespace InferenceServer.UnitTests.OnnxRuntime;

public sealed class OnnxRuntimeIdentityTests : IDisposable
{
    private readonly IModelInstance _instance = new OnnxRuntimeBackend().CreateInstance(OnnxFixtures.Options(OnnxFixtures.IdentityAll));

    public void Dispose() => _instance.Dispose();

    [Fact]
    public void Every_datatype_round_trips_bit_exactly_in_one_run()
    {
        var shape = new long[] { 3, 5 };
        var random = new Random(1234);
        var inputs = new List<Tensor>();
        var outputNames = new List<string>();
        try
        {
            foreach (var (suffix, type) in IdentityCases.All)
            {
                inputs.Add(type == DataType.Bytes
                    ? OnnxFixtures.Bytes("IN_" + suffix, shape, Strings(15, random))
                    : RandomTensor("IN_" + suffix, type, shape, random));
                outputNames.Add("OUT_" + suffix);
            }

            var outputs = _instance.Run(inputs, outputNames);
            try
            {
                Assert.Equal(inputs.Count, outputs.Length);
                for (var i = 0; i < outputs.Length; i++)
                {
                    Assert.Equal(outputNames[i], outputs[i].Name);
                    Assert.Equal(inputs[i].DataType, outputs[i].DataType);
                    Assert.Equal(shape, outputs[i].Shape);
                    Assert.True(inputs[i].Data.SequenceEqual(outputs[i].Data), $"{outputNames[i]} differs from its input");
                }
            }
            finally
            {
                DisposeAll(outputs);
            }
        }
        finally
        {
            DisposeAll(inputs);
        }
    }

    [Theory]
    [InlineData(DataType.Fp16, new ushort[] { 0x0000, 0x8000, 0x3C00, 0xBC00, 0x7C00, 0xFC00, 0x7E00, 0x7C01, 0xFE01, 0x0001, 0x03FF, 0x7BFF })]
    [InlineData(DataType.Bf16, new ushort[] { 0x0000, 0x8000, 0x3F80, 0xBF80, 0x7F80, 0xFF80, 0x7FC0, 0x7F81, 0xFFC1, 0x0001, 0x007F, 0x7F7F })]
    public void Half_precision_bit_patterns_survive(DataType type, ushort[] patterns)
    {
        var suffix = type == DataType.Fp16 ? "FLOAT16" : "BFLOAT16";
        var shape = new long[] { 2, patterns.Length / 2 };
        using var input = Tensor.Allocate("IN_" + suffix, type, shape, patterns.Length * 2);
        for (var i = 0; i < patterns.Length; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(input.Data.Slice(i * 2), patterns[i]);
        }

        var outputs = RunWithOthersEmpty(input, "OUT_" + suffix);
        try
        {
            var output = outputs[0];
            Assert.Equal(shape, output.Shape);
            for (var i = 0; i < patterns.Length; i++)
            {
                Assert.Equal(patterns[i], BinaryPrimitives.ReadUInt16LittleEndian(output.Data.Slice(i * 2)));
            }
        }
        finally
        {
            DisposeAll(outputs);
        }
    }

    [Fact]
    public void Bytes_edge_cases_round_trip()
    {
        byte[][] elements =
        [
            [],
            OnnxFixtures.Utf8("plain"),
            OnnxFixtures.Utf8("naïve café — 日本語 🚀"),
            [],
            OnnxFixtures.Utf8(new string('x', 70_000)),
            [0xF0, 0x9F, 0x98, 0x80],
        ];
        AssertBytesRoundTrip(elements, [2, 3]);
    }

    [Fact]
    public void Bytes_with_embedded_nul_and_invalid_utf8_round_trip()
    {
        byte[][] elements =
        [
            [0x00],
            [0x61, 0x00, 0x62],
            [0xFF, 0xFE, 0x00, 0x80],
            OnnxFixtures.Utf8("after"),
        ];
        AssertBytesRoundTrip(elements, [1, 4]);
    }

    [Fact]
    public void Many_bytes_elements_round_trip()
    {
        var random = new Random(99);
        AssertBytesRoundTrip(Strings(20_000, random), [200, 100]);
    }

    [Fact]
    public void All_empty_bytes_round_trip() => AssertBytesRoundTrip([[], [], []], [3, 1]);

    [Fact]
    public void Zero_element_tensors_round_trip()
    {
        using var floats = Tensor.Allocate("IN_FLOAT", DataType.Fp32, [0, 4], 0);
        var outputs = RunWithOthersEmpty(floats, "OUT_FLOAT");
        try
        {
            Assert.Equal(new long[] { 0, 4 }, outputs[0].Shape);
            Assert.Equal(0, outputs[0].ByteLength);
        }
        finally
        {
            DisposeAll(outputs);
        }

        using var strings = OnnxFixtures.Bytes("IN_STRING", [2, 0], []);
        outputs = RunWithOthersEmpty(strings, "OUT_STRING");
        try
        {
            Assert.Equal(new long[] { 2, 0 }, outputs[0].Shape);
            Assert.Equal(0, outputs[0].ByteLength);
        }
        finally
        {
            DisposeAll(outputs);
        }
    }

    [Fact]
    public void Outputs_come_back_in_the_requested_order()
    {
        using var ints = OnnxFixtures.Int32("IN_INT32", [1, 2], [7, -8]);
        var inputs = EmptyInputsExcept(ints);
        try
        {
            var outputs = _instance.Run(inputs, ["OUT_DOUBLE", "OUT_INT32"]);
            try
            {
                Assert.Equal("OUT_DOUBLE", outputs[0].Name);
                Assert.Equal(DataType.Fp64, outputs[0].DataType);
                Assert.Equal(new[] { 7, -8 }, OnnxFixtures.ReadInt32(outputs[1]));
            }
            finally
            {
                DisposeAll(outputs);
            }
        }
        finally
        {
            DisposeAllExcept(inputs, ints);
        }
    }

    private void AssertBytesRoundTrip(IReadOnlyList<byte[]> elements, long[] shape)
    {
        using var input = OnnxFixtures.Bytes("IN_STRING", shape, elements);
        var outputs = RunWithOthersEmpty(input, "OUT_STRING");
        try
        {
            var output = outputs[0];
            Assert.Equal(DataType.Bytes, output.DataType);
            Assert.Equal(shape, output.Shape);
            var back = OnnxFixtures.ReadBytes(output);
            Assert.Equal(elements.Count, back.Count);
            for (var i = 0; i < elements.Count; i++)
            {
                Assert.Equal(elements[i], back[i]);
            }
            Assert.True(input.Data.SequenceEqual(output.Data));
        }
        finally
        {
            DisposeAll(outputs);
        }
    }

    // The model needs all fourteen inputs; the ones a test does not look at go in with zero rows.
    private Tensor[] RunWithOthersEmpty(Tensor input, string outputName)
    {
        var inputs = EmptyInputsExcept(input);
        try
        {
            return _instance.Run(inputs, [outputName]);
        }
        finally
        {
            DisposeAllExcept(inputs, input);
        }
    }

    private static List<Tensor> EmptyInputsExcept(Tensor given)
    {
        var inputs = new List<Tensor>();
        foreach (var (suffix, type) in IdentityCases.All)
        {
            inputs.Add("IN_" + suffix == given.Name ? given : Tensor.Allocate("IN_" + suffix, type, [0, 1], 0));
        }
        return inputs;
    }

    private static Tensor RandomTensor(string name, DataType type, long[] shape, Random random)
    {
        var count = (int)ShapeMath.ElementCount(shape);
        var tensor = Tensor.Allocate(name, type, shape, count * type.ElementSize());
        random.NextBytes(tensor.Data);
        if (type == DataType.Bool)
        {
            for (var i = 0; i < count; i++)
            {
                tensor.Data[i] &= 1;
            }
        }
        return tensor;
    }

    private static List<byte[]> Strings(int count, Random random)
    {
        var strings = new List<byte[]>(count);
        for (var i = 0; i < count; i++)
        {
            var element = new byte[random.Next(0, 24)];
            random.NextBytes(element);
            strings.Add(element);
        }
        return strings;
    }

    private static void DisposeAll(IEnumerable<Tensor> tensors)
    {
        foreach (var tensor in tensors)
        {
            tensor.Dispose();
        }
    }

    private static void DisposeAllExcept(IEnumerable<Tensor> tensors, Tensor keep)
    {
        foreach (var tensor in tensors)
        {
            if (!ReferenceEquals(tensor, keep))
            {
                tensor.Dispose();
            }
        }
    }
}
