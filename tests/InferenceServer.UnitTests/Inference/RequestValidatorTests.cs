using InferenceServer.Core.Inference;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Tensors;
using InferenceServer.UnitTests.Repository;
using static InferenceServer.UnitTests.Repository.TestConfigs;
using DataType = InferenceServer.Core.Tensors.DataType;

namespace InferenceServer.UnitTests.Inference;

public sealed class RequestValidatorTests
{
    // "a" FP32 [-1, 3], "s" BYTES [1], optional "o" INT64 [2]; outputs "y", "z".
    private static ModelConfig Config(int maxBatchSize) => TestConfigs.Config("m", maxBatchSize,
        [Input("a", DataType.Fp32, [-1, 3]), Input("s", DataType.Bytes, [1]), Input("o", DataType.Int64, [2], optional: true)],
        [Output("y", DataType.Fp32, [-1]), Output("z", DataType.Fp32, [-1])]);

    private static long[] Batched(int maxBatchSize, long batch, params long[] dims) => maxBatchSize > 0 ? [batch, .. dims] : dims;

    private static Tensor Fixed(string name, DataType type, long[] shape) =>
        Tensor.Allocate(name, type, shape, checked((int)ShapeMath.ElementCount(shape) * type.ElementSize()));

    private static Tensor Strings(string name, long[] shape, int count)
    {
        var tensor = Tensor.Allocate(name, DataType.Bytes, shape, count * 5);
        for (var i = 0; i < count; i++)
        {
            BytesTensorLayout.WriteElement(tensor.Data[(i * 5)..], "x"u8);
        }
        return tensor;
    }

    private static InferenceRequest Request(params Tensor[] inputs)
    {
        var request = new InferenceRequest { ModelName = "m" };
        request.Inputs.AddRange(inputs);
        return request;
    }

    private static InferenceRequest Valid(int maxBatchSize, long batch = 1) => Request(
        Fixed("a", DataType.Fp32, Batched(maxBatchSize, batch, 4, 3)),
        Strings("s", Batched(maxBatchSize, batch, 1), maxBatchSize > 0 ? (int)batch : 1));

    private static string Rejected(ModelConfig config, InferenceRequest request)
    {
        using (request)
        {
            var error = Assert.Throws<InferenceException>(() => RequestValidator.Validate(config, request));
            Assert.Equal(InferenceErrorKind.InvalidArgument, error.Kind);
            return error.Message;
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public void A_complete_request_passes_and_the_optional_input_may_be_omitted(int maxBatchSize)
    {
        using var request = Valid(maxBatchSize);
        RequestValidator.Validate(Config(maxBatchSize), request);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public void The_optional_input_may_be_given(int maxBatchSize)
    {
        using var request = Valid(maxBatchSize);
        request.Inputs.Add(Fixed("o", DataType.Int64, Batched(maxBatchSize, 1, 2)));
        request.RequestedOutputs.AddRange(["z", "y"]);
        RequestValidator.Validate(Config(maxBatchSize), request);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public void An_unknown_input_is_named_with_the_known_ones(int maxBatchSize)
    {
        var request = Valid(maxBatchSize);
        request.Inputs.Add(Fixed("b", DataType.Fp32, [1]));
        Assert.Equal("unknown input 'b' for model 'm'; its inputs are: a, s, o", Rejected(Config(maxBatchSize), request));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public void A_duplicate_input_is_rejected(int maxBatchSize)
    {
        var request = Valid(maxBatchSize);
        request.Inputs.Add(Fixed("a", DataType.Fp32, Batched(maxBatchSize, 1, 4, 3)));
        Assert.Equal("input 'a' is given more than once", Rejected(Config(maxBatchSize), request));
    }

    [Theory]
    [InlineData(0, "missing input 's' for model 'm' (expected BYTES [1])")]
    [InlineData(4, "missing input 's' for model 'm' (expected BYTES [-1,1])")]
    public void A_missing_input_is_named_with_its_expected_type_and_shape(int maxBatchSize, string message)
    {
        Assert.Equal(message, Rejected(Config(maxBatchSize), Request(Fixed("a", DataType.Fp32, Batched(maxBatchSize, 1, 4, 3)))));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public void A_wrong_datatype_is_rejected(int maxBatchSize)
    {
        var request = Request(Fixed("a", DataType.Fp64, Batched(maxBatchSize, 1, 4, 3)), Strings("s", Batched(maxBatchSize, 1, 1), 1));
        Assert.Equal("input 'a' has datatype FP64 but model 'm' expects FP32", Rejected(Config(maxBatchSize), request));
    }

    [Fact]
    public void A_wrong_rank_is_rejected_without_batching()
    {
        var request = Request(Fixed("a", DataType.Fp32, [1, 4, 3]), Strings("s", [1], 1));
        Assert.Equal("input 'a' has shape [1,4,3] but model 'm' expects [-1,3]", Rejected(Config(0), request));
    }

    [Fact]
    public void A_wrong_rank_is_rejected_with_batching_and_the_batch_dimension_explained()
    {
        var request = Request(Fixed("a", DataType.Fp32, [4, 3]), Strings("s", [1, 1], 1));
        Assert.Equal(
            "input 'a' has shape [4,3] but model 'm' expects [-1,-1,3] where the first dimension is the batch size (1 to 4)",
            Rejected(Config(4), request));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public void A_fixed_dimension_must_match_and_minus_one_takes_any_size(int maxBatchSize)
    {
        using (var request = Request(Fixed("a", DataType.Fp32, Batched(maxBatchSize, 1, 17, 3)), Strings("s", Batched(maxBatchSize, 1, 1), 1)))
        {
            RequestValidator.Validate(Config(maxBatchSize), request);
        }
        using (var request = Request(Fixed("a", DataType.Fp32, Batched(maxBatchSize, 1, 0, 3)), Strings("s", Batched(maxBatchSize, 1, 1), 1)))
        {
            RequestValidator.Validate(Config(maxBatchSize), request);
        }
        var wrong = Request(Fixed("a", DataType.Fp32, Batched(maxBatchSize, 1, 4, 2)), Strings("s", Batched(maxBatchSize, 1, 1), 1));
        Assert.StartsWith($"input 'a' has shape {ShapeMath.Format(Batched(maxBatchSize, 1, 4, 2))} but model 'm' expects ", Rejected(Config(maxBatchSize), wrong));
    }

    [Fact]
    public void A_negative_dimension_where_the_config_has_minus_one_is_rejected()
    {
        var request = Request(Tensor.Allocate("a", DataType.Fp32, [-1, 3], 0), Strings("s", [1], 1));
        Assert.Equal("input 'a' has a negative dimension in shape [-1,3]", Rejected(Config(0), request));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    public void A_batch_size_outside_one_to_max_is_rejected(long batch)
    {
        var request = Request(Fixed("a", DataType.Fp32, [batch, 1, 3]), Strings("s", [batch, 1], (int)batch));
        Assert.Equal($"input 'a' has batch size {batch} but model 'm' accepts 1 to 4", Rejected(Config(4), request));
    }

    [Fact]
    public void The_largest_batch_size_is_accepted()
    {
        using var request = Valid(4, batch: 4);
        RequestValidator.Validate(Config(4), request);
    }

    [Fact]
    public void Inputs_must_agree_on_the_batch_size()
    {
        var request = Request(Fixed("a", DataType.Fp32, [2, 1, 3]), Strings("s", [3, 1], 3));
        Assert.Equal("input 's' has batch size 3 but an earlier input has batch size 2; all inputs must agree", Rejected(Config(4), request));
    }

    [Fact]
    public void Without_batching_the_first_dimension_is_not_a_batch()
    {
        // [-1, 3] accepts any first dimension when max_batch_size is 0, even 0 or more than 4.
        using var request = Request(Fixed("a", DataType.Fp32, [9, 3]), Strings("s", [1], 1));
        RequestValidator.Validate(Config(0), request);
    }

    [Theory]
    [InlineData(0, 11, "input 'a' has 11 bytes of data but shape [1,3] of FP32 needs 12")]
    [InlineData(4, 16, "input 'a' has 16 bytes of data but shape [1,1,3] of FP32 needs 12")]
    public void A_wrong_byte_count_is_rejected(int maxBatchSize, int bytes, string message)
    {
        var request = Request(Tensor.Allocate("a", DataType.Fp32, Batched(maxBatchSize, 1, 1, 3), bytes), Strings("s", Batched(maxBatchSize, 1, 1), 1));
        Assert.Equal(message, Rejected(Config(maxBatchSize), request));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public void A_shape_whose_byte_size_overflows_does_not_pass_for_empty_data(int maxBatchSize)
    {
        // 2^61 INT64 elements are 2^64 bytes, which wraps to 0 in 64-bit arithmetic.
        var config = Config(maxBatchSize);
        config.Input.Clear();
        config.Input.Add(Input("a", DataType.Int64, [-1]));
        var request = Request(Tensor.Allocate("a", DataType.Int64, Batched(maxBatchSize, 1, 1L << 61), 0));
        Assert.StartsWith("input 'a' has 0 bytes of data but shape ", Rejected(config, request));
    }

    [Fact]
    public void A_shape_whose_element_count_overflows_is_rejected()
    {
        var request = Request(Tensor.Allocate("a", DataType.Fp32, [long.MaxValue, 3], 0), Strings("s", [1], 1));
        Assert.Equal($"input 'a' has shape [{long.MaxValue},3], whose element count overflows", Rejected(Config(0), request));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public void Malformed_bytes_data_is_rejected(int maxBatchSize)
    {
        var request = Request(Fixed("a", DataType.Fp32, Batched(maxBatchSize, 1, 1, 3)), Tensor.Copy("s", DataType.Bytes, Batched(maxBatchSize, 1, 1), [9, 0, 0, 0, 1]));
        Assert.Equal("input 's' has malformed BYTES data: element 0 declares 9 bytes but only 1 remain", Rejected(Config(maxBatchSize), request));
    }

    // A backend whose string tensors hold text (ONNX Runtime's do) would fail on the element, and fail every request
    // batched with it; the element is refused first, naming it.
    [Theory]
    [InlineData(new byte[] { 0xFF })]
    [InlineData(new byte[] { (byte)'a', 0xE2, 0x82 })] // truncated
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })] // an encoded surrogate
    [InlineData(new byte[] { 0xC0, 0xAF })] // overlong
    public void A_bytes_element_that_is_not_utf8_is_rejected_where_strings_are_text(byte[] element)
    {
        static InferenceRequest WithElement(byte[] element)
        {
            var strings = Tensor.Allocate("s", DataType.Bytes, [2, 1], 2 * BytesTensorLayout.PrefixSize + 2 + element.Length);
            var written = BytesTensorLayout.WriteElement(strings.Data, "ok"u8);
            BytesTensorLayout.WriteElement(strings.Data[written..], element);
            return Request(Fixed("a", DataType.Fp32, [2, 1, 3]), strings);
        }

        using (var bytes = WithElement(element))
        {
            RequestValidator.Validate(Config(4), bytes);
        }
        using var text = WithElement(element);
        var error = Assert.Throws<InferenceException>(() => RequestValidator.Validate(Config(4), text, textStrings: true));
        Assert.Equal(InferenceErrorKind.InvalidArgument, error.Kind);
        Assert.Equal("input 's' element 1 is not valid UTF-8 text, which model 'm' needs in its string (BYTES) inputs", error.Message);
    }

    [Theory]
    [InlineData(0, 2)]
    [InlineData(4, 0)]
    public void A_bytes_element_count_that_disagrees_with_the_shape_is_rejected(int maxBatchSize, int count)
    {
        var request = Request(Fixed("a", DataType.Fp32, Batched(maxBatchSize, 1, 1, 3)), Strings("s", Batched(maxBatchSize, 1, 1), count));
        Assert.Equal($"input 's' has {count} BYTES elements but shape {ShapeMath.Format(Batched(maxBatchSize, 1, 1))} needs 1", Rejected(Config(maxBatchSize), request));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public void An_unknown_requested_output_is_named_with_the_known_ones(int maxBatchSize)
    {
        var request = Valid(maxBatchSize);
        request.RequestedOutputs.AddRange(["y", "w"]);
        Assert.Equal("unknown output 'w' requested from model 'm'; its outputs are: y, z", Rejected(Config(maxBatchSize), request));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public void A_duplicate_requested_output_is_rejected(int maxBatchSize)
    {
        var request = Valid(maxBatchSize);
        request.RequestedOutputs.AddRange(["y", "z", "y"]);
        Assert.Equal("output 'y' is requested more than once", Rejected(Config(maxBatchSize), request));
    }

    [Fact]
    public void Expected_shape_leads_with_minus_one_only_when_batching()
    {
        var tensor = Input("a", DataType.Fp32, [2, 3]);
        Assert.Equal(new long[] { 2, 3 }, RequestValidator.ExpectedShape(Config(0), tensor));
        Assert.Equal(new long[] { -1, 2, 3 }, RequestValidator.ExpectedShape(Config(8), tensor));
    }
}
