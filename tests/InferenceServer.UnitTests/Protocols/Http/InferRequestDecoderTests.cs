using System.Buffers.Binary;
using System.Text;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Tensors;
using InferenceServer.Protocols.Http;
using InferenceServer.UnitTests.Tensors;
using InferenceServer.UnitTests.Repository;
using DataType = InferenceServer.Core.Tensors.DataType;

namespace InferenceServer.UnitTests.Protocols.Http;

public sealed class InferRequestDecoderTests
{
    private const string OneInput = """{"name":"a","datatype":"INT32","shape":[2],"data":[1,2]}""";

    private static InferenceRequest Decode(string json, byte[]? binary, out OutputFormat format) =>
        InferRequestDecoder.Decode("m", "3", Encoding.UTF8.GetBytes(json), binary ?? [], out format);

    private static InferenceRequest Decode(string json, byte[]? binary = null) => Decode(json, binary, out _);

    private static string Rejected(string json, byte[]? binary = null)
    {
        var error = Assert.Throws<InferenceException>(() => Decode(json, binary).Dispose());
        Assert.Equal(InferenceErrorKind.InvalidArgument, error.Kind);
        return error.Message;
    }

    private static byte[] Int32s(params int[] values)
    {
        var data = new byte[values.Length * 4];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(i * 4), values[i]);
        }
        return data;
    }

    [Fact]
    public void A_minimal_request_has_its_input_and_defaults()
    {
        using var request = Decode($$"""{"inputs":[{{OneInput}}]}""", null, out var format);
        Assert.Equal("m", request.ModelName);
        Assert.Equal("3", request.ModelVersion);
        Assert.Equal("", request.Id);
        Assert.Equal(0, request.Priority);
        Assert.Equal(0, request.TimeoutMicroseconds);
        Assert.Empty(request.RequestedOutputs);
        var input = Assert.Single(request.Inputs);
        Assert.Equal("a", input.Name);
        Assert.Equal(DataType.Int32, input.DataType);
        Assert.Equal(new long[] { 2 }, input.Shape);
        Assert.Equal(Int32s(1, 2), input.Data.ToArray());
        Assert.False(format.IsBinary("anything"));
    }

    [Fact]
    public void Id_and_parameters_are_read()
    {
        using var request = Decode($$$"""
            {"id":"req-7","parameters":{"priority":3,"timeout":1500,"binary_data_output":true,"sequence_id":{"x":[1]}},
             "inputs":[{{{OneInput}}}]}
            """, null, out var format);
        Assert.Equal("req-7", request.Id);
        Assert.Equal(3, request.Priority);
        Assert.Equal(1500, request.TimeoutMicroseconds);
        Assert.True(format.IsBinary("whatever"));
        // An object-valued parameter has no text for routing; the server's own parameters are not repeated.
        Assert.Null(request.Parameters);
    }

    [Fact]
    public void Other_parameters_are_kept_as_text_for_routing()
    {
        using var request = Decode($$$"""
            {"parameters":{"cohort":"c","sticky":true,"off":false,"weight":0.25,"sequence_id":42,"gone":null},
             "inputs":[{{{OneInput}}}]}
            """, null, out _);
        Assert.Equal(
            new Dictionary<string, string> { ["cohort"] = "c", ["sticky"] = "true", ["off"] = "false", ["weight"] = "0.25", ["sequence_id"] = "42" },
            request.Parameters);
    }

    [Fact]
    public void Entity_and_record_objects_are_flattened_and_let_a_request_leave_out_its_inputs()
    {
        using var request = Decode("""
            {"parameters":{"entity":{"id":"17","region":5},"record":{"age":52.5,"workclass":"Private","veteran":true,"gone":null},"cohort":"c"}}
            """);
        Assert.Empty(request.Inputs);
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["entity.id"] = "17", ["entity.region"] = "5", ["record.age"] = "52.5", ["record.workclass"] = "Private", ["record.veteran"] = "true", ["cohort"] = "c",
            },
            request.Parameters);
    }

    [Theory]
    [InlineData("""{"parameters":{"record":"age=52"}}""", "parameters.record must be a JSON object")]
    [InlineData("""{"parameters":{"entity":{"id":{"n":1}}}}""", "parameters.entity.id must be a string, a number, true or false (or null when it is missing), not an object")]
    [InlineData("""{"parameters":{"record":{"age":52,"age":53}}}""", "key 'age' is given more than once in parameters.record")]
    [InlineData("""{"parameters":{"cohort":"c"}}""", "the request has no 'inputs'")]
    public void Entity_and_record_objects_that_are_not_flat_are_rejected(string json, string message) => Assert.Contains(message, Rejected(json));

    [Theory]
    [InlineData("\"id\":5", "'id' must be a string")]
    [InlineData("\"parameters\":[]", "parameters must be a JSON object")]
    [InlineData("\"parameters\":{\"priority\":\"3\"}", "parameters.priority must be an integer from 0 to 2147483647")]
    [InlineData("\"parameters\":{\"priority\":-1}", "parameters.priority must be an integer from 0 to 2147483647")]
    [InlineData("\"parameters\":{\"priority\":2147483648}", "parameters.priority must be an integer from 0 to 2147483647")]
    [InlineData("\"parameters\":{\"priority\":1.5}", "parameters.priority must be an integer from 0 to 2147483647")]
    [InlineData("\"parameters\":{\"timeout\":\"10\"}", "parameters.timeout must be an integer from 0 to 9223372036854775807")]
    [InlineData("\"parameters\":{\"timeout\":-5}", "parameters.timeout must be an integer from 0 to 9223372036854775807")]
    [InlineData("\"parameters\":{\"binary_data_output\":1}", "parameters.binary_data_output must be true or false")]
    [InlineData("\"parameters\":{\"binary_data_output\":\"true\"}", "parameters.binary_data_output must be true or false")]
    public void Request_fields_of_the_wrong_type_are_rejected(string field, string message)
    {
        Assert.Equal(message, Rejected($$"""{{{field}},"inputs":[{{OneInput}}]}"""));
    }

    // JSON text with raw bytes spliced in where it says <XX> (hex), for text no C# string can hold: invalid UTF-8.
    private static byte[] WithBytes(string json)
    {
        var bytes = new List<byte>();
        for (var i = 0; i < json.Length; i++)
        {
            if (json[i] == '<')
            {
                bytes.Add(Convert.ToByte(json.Substring(i + 1, 2), 16));
                i += 3;
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(json[i].ToString()));
            }
        }
        return [.. bytes];
    }

    private static string RejectedBytes(string json)
    {
        var error = Assert.Throws<InferenceException>(() => InferRequestDecoder.Decode("m", null, WithBytes(json), [], out _).Dispose());
        Assert.Equal(InferenceErrorKind.InvalidArgument, error.Kind);
        return error.Message;
    }

    private const string NotUtf8 = "not valid UTF-8 text (an invalid or truncated byte sequence, or an unpaired surrogate escape such as \\ud800); JSON strings must be UTF-8";

    // Utf8JsonReader finds where a string ends without checking its text; decoding it (GetString, CopyString, comparing an
    // escaped name) throws InvalidOperationException, which was answered 500. Each is a 400 naming the field.
    public static readonly TheoryData<string, string> StringsThatAreNotText = new()
    {
        { $$"""{"id":"a<FF>b","inputs":[{{OneInput}}]}""", $"id is {NotUtf8}" },
        { $$"""{"id":"<E2><82>","inputs":[{{OneInput}}]}""", $"id is {NotUtf8}" },
        { $$"""{"id":"\ud800","inputs":[{{OneInput}}]}""", $"id is {NotUtf8}" },
        { $$"""{"id":"\udc00\ud800","inputs":[{{OneInput}}]}""", $"id is {NotUtf8}" },
        { """{"inputs":[{"name":"<C3>","datatype":"INT32","shape":[1],"data":[1]}]}""", $"inputs[0].name is {NotUtf8}" },
        { $$"""{"inputs":[{{OneInput}}],"outputs":[{"name":"y\udfff"}]}""", $"outputs[0].name is {NotUtf8}" },
        { $$"""{"parameters":{"route":"<ED><A0><80>"},"inputs":[{{OneInput}}]}""", $"parameters.route is {NotUtf8}" },
        { $$"""{"<FF>":1,"inputs":[{{OneInput}}]}""", $"the request has a key or string that is {NotUtf8}" },
        { $$"""{"\ud800":1,"inputs":[{{OneInput}}]}""", $"the request has a key or string that is {NotUtf8}" },
        { $$"""{"extra":{"deep":["ok","<F8><88><80><80><80>"]},"inputs":[{{OneInput}}]}""", $"the request has a key or string that is {NotUtf8}" },
        { $$"""{"extra":"\ud800","inputs":[{{OneInput}}]}""", $"the request has a key or string that is {NotUtf8}" },
        { $$"""{"parameters":{"<C0><AF>":"x"},"inputs":[{{OneInput}}]}""", $"parameters has a key or string that is {NotUtf8}" },
        { $$$"""{"parameters":{"deep":{"a":["\udc00"]}},"inputs":[{{{OneInput}}}]}""", $"parameters has a key or string that is {NotUtf8}" },
        { """{"inputs":[{"name":"a","datatype":"INT32","shape":[1],"data":[1],"<FF>":0}]}""", $"inputs[0] has a key or string that is {NotUtf8}" },
        { """{"inputs":[{"name":"a","datatype":"INT32","shape":[1],"data":[1],"parameters":{"x":"<FF>"}}]}""", $"inputs[0].parameters has a key or string that is {NotUtf8}" },
        { $$$"""{"inputs":[{{{OneInput}}}],"outputs":[{"name":"y","parameters":{"\ud800":true}}]}""", $"outputs[0].parameters has a key or string that is {NotUtf8}" },
        { """{"inputs":[{"name":"a","datatype":"BYTES","shape":[2],"data":["ok","<FF>"]}]}""", $"input 'a' element 1 is {NotUtf8}" },
        { """{"inputs":[{"name":"a","datatype":"BYTES","shape":[1],"data":["x\ud800y"]}]}""", $"input 'a' element 0 is {NotUtf8}" },
        // Data before datatype and shape is decoded last, by the same decoder.
        { """{"inputs":[{"data":[["<E2><82>"]],"name":"a","datatype":"BYTES","shape":[1,1]}]}""", $"input 'a' element 0 is {NotUtf8}" },
        { """{"inputs":[{"name":"a","datatype":"FP32","shape":[2],"data":[1,"\ud800"]}]}""", $"input 'a' element 1 is {NotUtf8}" },
        { """{"inputs":[{"name":"a","datatype":"INT<FF>","shape":[1],"data":[1]}]}""", "inputs[0].datatype must be one of BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, BF16, FP32, FP64, BYTES" },
        { """{"inputs":[{"name":"a","datatype":"\ud800","shape":[1],"data":[1]}]}""", "inputs[0].datatype must be one of BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, BF16, FP32, FP64, BYTES" },
        { """{"inputs":[{"name":"a","datatype":"INT32","shape":[2],"parameters":{"shared_memory_region":"\ud800","x":1}}]}""", "input 'a' refers to shared-memory region, but this server" },
    };

    [Theory]
    [MemberData(nameof(StringsThatAreNotText))]
    public void A_string_that_is_not_text_is_rejected_naming_its_field(string json, string expected)
    {
        Assert.StartsWith(expected, RejectedBytes(json));
    }

    [Fact]
    public void Escapes_that_make_valid_text_are_read()
    {
        using var request = Decode("""
            {"\u0069d":"\ud83d\ude00","inputs":[{"name":"\u0061","datatype":"\u0042YTES","shape":[2],"data":["\u00fc\ud83d\ude00","\u004e"]}]}
            """);
        Assert.Equal("\U0001F600", request.Id);
        var input = Assert.Single(request.Inputs);
        Assert.Equal("a", input.Name);
        Assert.Equal([.. Encoding.UTF8.GetBytes("\u00fc\U0001F600"), (byte)'N'], Elements(input.Data));
    }

    private static byte[] Elements(ReadOnlySpan<byte> data)
    {
        var bytes = new List<byte>();
        foreach (var element in BytesTensorLayout.Elements(data))
        {
            bytes.AddRange(element.ToArray());
        }
        return [.. bytes];
    }

    // A repeated key used to replace the earlier value without a word.
    public static readonly TheoryData<string, string> RepeatedKeys = new()
    {
        { $$"""{"inputs":[{{OneInput}}],"inputs":[{{OneInput}}]}""", "key 'inputs' is given more than once in the request" },
        { $$"""{"id":"a","inputs":[{{OneInput}}],"id":"b"}""", "key 'id' is given more than once in the request" },
        { $$"""{"id":"a","\u0069d":"b","inputs":[{{OneInput}}]}""", "key 'id' is given more than once in the request" },
        { $$"""{"outputs":[],"inputs":[{{OneInput}}],"outputs":[]}""", "key 'outputs' is given more than once in the request" },
        { $$"""{"parameters":{},"parameters":{},"inputs":[{{OneInput}}]}""", "key 'parameters' is given more than once in the request" },
        { $$"""{"extra":1,"inputs":[{{OneInput}}],"extra":2}""", "key 'extra' is given more than once in the request" },
        { $$"""{"parameters":{"priority":1,"priority":2},"inputs":[{{OneInput}}]}""", "key 'priority' is given more than once in parameters" },
        { $$"""{"parameters":{"cohort":"b","cohort":"c"},"inputs":[{{OneInput}}]}""", "key 'cohort' is given more than once in parameters" },
        { $$"""{"parameters":{"deep":{},"deep":[]},"inputs":[{{OneInput}}]}""", "key 'deep' is given more than once in parameters" },
        { """{"inputs":[{"name":"a","datatype":"INT32","shape":[1],"shape":[2],"data":[1,2]}]}""", "key 'shape' is given more than once in inputs[0]" },
        { """{"inputs":[{"name":"a","name":"b","datatype":"INT32","shape":[1],"data":[1]}]}""", "key 'name' is given more than once in inputs[0]" },
        { """{"inputs":[{"name":"a","datatype":"INT32","shape":[1],"data":[1],"data":[2]}]}""", "key 'data' is given more than once in inputs[0]" },
        { """{"inputs":[{"name":"a","datatype":"INT32","datatype":"FP32","shape":[1],"data":[1]}]}""", "key 'datatype' is given more than once in inputs[0]" },
        { """{"inputs":[{"name":"a","datatype":"INT32","shape":[1],"parameters":{"binary_data_size":4,"binary_data_size":4}}]}""", "key 'binary_data_size' is given more than once in inputs[0].parameters" },
        { $$"""{"inputs":[{{OneInput}}],"outputs":[{"name":"x","name":"y"}]}""", "key 'name' is given more than once in outputs[0]" },
        { $$$"""{"inputs":[{{{OneInput}}}],"outputs":[{"name":"x","parameters":{"binary_data":true,"binary_data":false}}]}""", "key 'binary_data' is given more than once in outputs[0].parameters" },
        { $$$"""{"inputs":[{{{OneInput}}}],"outputs":[{"name":"x","parameters":{"p":1,"p":1}}]}""", "key 'p' is given more than once in outputs[0].parameters" },
    };

    [Theory]
    [MemberData(nameof(RepeatedKeys))]
    public void A_repeated_key_is_rejected_naming_it(string json, string expected)
    {
        Assert.Equal(expected + "; a JSON object's keys must be unique", Rejected(json));
    }

    [Fact]
    public void The_same_key_in_different_objects_is_fine()
    {
        using var request = Decode($$$"""
            {"parameters":{"name":"p"},"inputs":[{{{OneInput}}},{{{OneInput.Replace("\"a\"", "\"b\"")}}}],"outputs":[{"name":"name"}]}
            """);
        Assert.Equal(["a", "b"], request.Inputs.Select(i => i.Name));
    }

    [Fact]
    public void Per_output_binary_data_overrides_the_default()
    {
        using var request = Decode($$$"""
            {"inputs":[{{{OneInput}}}],
             "outputs":[{"name":"x","parameters":{"binary_data":true}},{"name":"y"},{"name":"z","parameters":{"binary_data":false,"other":[1]}}]}
            """, null, out var format);
        Assert.Equal(["x", "y", "z"], request.RequestedOutputs);
        Assert.True(format.IsBinary("x"));
        Assert.False(format.IsBinary("y"));
        Assert.False(format.IsBinary("z"));
    }

    [Fact]
    public void Per_output_binary_data_false_wins_over_binary_data_output()
    {
        using var request = Decode($$$"""
            {"outputs":[{"name":"x","parameters":{"binary_data":false}}],
             "parameters":{"binary_data_output":true},"inputs":[{{{OneInput}}}]}
            """, null, out var format);
        Assert.False(format.IsBinary("x"));
        Assert.True(format.IsBinary("unlisted"));
    }

    [Theory]
    [InlineData("[5]", "outputs[0] must be a JSON object")]
    [InlineData("[{\"parameters\":{}}]", "outputs[0] has no 'name'")]
    [InlineData("[{\"name\":\"x\"},{\"name\":7}]", "outputs[1].name must be a string")]
    [InlineData("[{\"name\":\"x\",\"parameters\":{\"binary_data\":\"yes\"}}]", "outputs[0].parameters.binary_data must be true or false")]
    [InlineData("[{\"name\":\"x\",\"parameters\":{\"classification\":3}}]", "outputs[0] asks for the classification extension, which this server does not support")]
    [InlineData("{}", "outputs must be a JSON array")]
    public void Malformed_outputs_are_rejected(string outputs, string message)
    {
        Assert.Equal(message, Rejected($$"""{"inputs":[{{OneInput}}],"outputs":{{outputs}}}"""));
    }

    [Fact]
    public void Data_may_come_before_datatype_and_shape()
    {
        using var request = Decode("""{"inputs":[{"data":[[1.5,2],[3,4]],"shape":[2,2],"name":"a","datatype":"FP32"}]}""");
        var input = Assert.Single(request.Inputs);
        Assert.Equal(new long[] { 2, 2 }, input.Shape);
        Assert.Equal(1.5f, BinaryPrimitives.ReadSingleLittleEndian(input.Data));
        Assert.Equal(16, input.ByteLength);
    }

    [Fact]
    public void Unknown_fields_are_skipped_wherever_they_are()
    {
        using var request = Decode("""
            {"extra":{"deep":[{"a":1}]},"inputs":[{"name":"a","foo":[1,2,3],"datatype":"INT32","shape":[1],"data":[9],
              "parameters":{"content_type":"x"}}],"more":null}
            """);
        Assert.Equal(Int32s(9), Assert.Single(request.Inputs).Data.ToArray());
    }

    [Fact]
    public void Binary_data_is_sliced_in_input_order()
    {
        var binary = Int32s(10, 20, 30);
        using var request = Decode("""
            {"inputs":[
              {"name":"a","datatype":"INT32","shape":[2],"parameters":{"binary_data_size":8}},
              {"name":"b","datatype":"INT32","shape":[1],"data":[5]},
              {"name":"c","datatype":"INT32","shape":[1],"parameters":{"binary_data_size":4}}]}
            """, binary);
        Assert.Equal(["a", "b", "c"], request.Inputs.Select(i => i.Name));
        Assert.Equal(Int32s(10, 20), request.Inputs[0].Data.ToArray());
        Assert.Equal(Int32s(5), request.Inputs[1].Data.ToArray());
        Assert.Equal(Int32s(30), request.Inputs[2].Data.ToArray());
    }

    [Fact]
    public void A_zero_binary_data_size_gives_an_empty_tensor()
    {
        using var request = Decode("""{"inputs":[{"name":"a","datatype":"FP32","shape":[0],"parameters":{"binary_data_size":0}}]}""");
        Assert.Equal(0, Assert.Single(request.Inputs).ByteLength);
    }

    [Fact]
    public void Too_few_binary_bytes_are_rejected()
    {
        Assert.Equal(
            "input 'b' declares binary_data_size 8 but only 4 bytes of binary data remain in the body",
            Rejected("""
                {"inputs":[{"name":"a","datatype":"INT32","shape":[1],"parameters":{"binary_data_size":4}},
                           {"name":"b","datatype":"INT32","shape":[2],"parameters":{"binary_data_size":8}}]}
                """, Int32s(1, 2)));
    }

    [Fact]
    public void Too_many_binary_bytes_are_rejected()
    {
        Assert.Equal(
            "the body carries 12 bytes of binary data after the JSON header but the inputs' binary_data_size add up to 8",
            Rejected("""{"inputs":[{"name":"a","datatype":"INT32","shape":[2],"parameters":{"binary_data_size":8}}]}""", Int32s(1, 2, 3)));
    }

    [Fact]
    public void Binary_bytes_without_any_binary_input_are_rejected()
    {
        Assert.StartsWith("the body carries 4 bytes of binary data", Rejected($$"""{"inputs":[{{OneInput}}]}""", Int32s(1)));
    }

    [Fact]
    public void Data_and_binary_data_size_together_are_rejected()
    {
        Assert.Equal(
            "input 'a' has both 'data' and a binary_data_size; give one",
            Rejected("""{"inputs":[{"name":"a","datatype":"INT32","shape":[1],"data":[1],"parameters":{"binary_data_size":4}}]}""", Int32s(1)));
    }

    [Theory]
    [InlineData("""{"datatype":"INT32","shape":[1],"data":[1]}""", "inputs[0] has no 'name'")]
    [InlineData("""{"name":"a","shape":[1],"data":[1]}""", "input 'a' has no 'datatype'")]
    [InlineData("""{"name":"a","datatype":"INT32","data":[1]}""", "input 'a' has no 'shape'")]
    [InlineData("""{"name":"a","datatype":"INT32","shape":[1]}""", "input 'a' has neither 'data' nor a binary_data_size parameter")]
    [InlineData("""{"name":1}""", "inputs[0].name must be a string")]
    [InlineData("""{"name":"a","shape":[-1]}""", "inputs[0].shape must be an array of non-negative integers")]
    [InlineData("""{"name":"a","shape":[1.5]}""", "inputs[0].shape must be an array of non-negative integers")]
    [InlineData("""{"name":"a","shape":2}""", "inputs[0].shape must be a JSON array")]
    [InlineData("""{"name":"a","shape":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}""", "inputs[0].shape has more than 16 dimensions")]
    [InlineData("""{"name":"a","parameters":{"binary_data_size":-1}}""", "inputs[0].parameters.binary_data_size must be an integer from 0 to 2147483647")]
    [InlineData("""{"name":"a","parameters":[]}""", "inputs[0].parameters must be a JSON object")]
    [InlineData("""7""", "inputs[0] must be a JSON object")]
    public void Malformed_inputs_are_rejected(string input, string message)
    {
        Assert.Equal(message, Rejected($$"""{"inputs":[{{input}}]}"""));
    }

    [Fact]
    public void An_unknown_datatype_lists_the_valid_ones()
    {
        Assert.Equal(
            "inputs[0].datatype must be one of BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, BF16, FP32, FP64, BYTES",
            Rejected("""{"inputs":[{"name":"a","datatype":"FLOAT32","shape":[1],"data":[1]}]}"""));
    }

    [Fact]
    public void Data_errors_name_the_input_and_element()
    {
        Assert.Equal(
            "input 'a' element 1 is 300 but UINT8 needs an integer from 0 to 255",
            Rejected("""{"inputs":[{"name":"a","datatype":"UINT8","shape":[2],"data":[1,300]}]}"""));
    }

    [Theory]
    [InlineData("[]", "the request body must be a JSON object")]
    [InlineData("{}", "the request has no 'inputs'")]
    [InlineData("{\"inputs\":{}}", "inputs must be a JSON array")]
    public void A_body_that_is_not_a_request_is_rejected(string json, string message)
    {
        Assert.Equal(message, Rejected(json));
    }

    [Theory]
    [InlineData("""{"inputs":[""")]
    [InlineData("""{"inputs":[{"name":"a",}]}""")]
    [InlineData("""{"inputs":[{"name":"a","datatype":"INT32","shape":[2],"data":[1,2}]}""")]
    [InlineData("""{'inputs':[]}""")]
    [InlineData("")]
    public void Malformed_json_is_rejected_as_such(string json)
    {
        Assert.StartsWith("malformed JSON in the request: ", Rejected(json));
    }

    [Theory]
    [InlineData(" x")]
    [InlineData("{}")]
    [InlineData(" 1")]
    [InlineData("]")]
    public void Trailing_garbage_after_the_object_is_rejected(string tail)
    {
        Rejected($$"""{"inputs":[{{OneInput}}]}{{tail}}""");
    }

    [Fact]
    public void Trailing_whitespace_after_the_object_is_fine()
    {
        using var request = Decode($$"""{"inputs":[{{OneInput}}]}""" + " \n\t");
        Assert.Single(request.Inputs);
    }

    [Fact]
    public void A_decoded_request_holds_one_pooled_buffer_per_input_until_disposed()
    {
        // The control for the leak tests below: decoding two inputs does rent two buffers.
        InferenceRequest? request = null;
        Assert.Equal(2, PooledBufferProbe.Outstanding(() => request = Decode($$"""{"inputs":[{{OneInput}},{{OneInput.Replace("\"a\"", "\"b\"")}}]}""")));
        Assert.Equal(0, PooledBufferProbe.Outstanding(() => request!.Dispose()));
    }

    [Theory]
    // The second input's data is bad.
    [InlineData("""{"inputs":[{"name":"a","datatype":"FP32","shape":[2],"data":[1,2]},{"name":"b","datatype":"FP32","shape":[2],"data":[1,true]}]}""", 0)]
    // The second input's strings are bad.
    [InlineData("""{"inputs":[{"name":"a","datatype":"FP32","shape":[2],"data":[1,2]},{"name":"b","datatype":"BYTES","shape":[2],"data":["x",2]}]}""", 0)]
    // The second input has no shape.
    [InlineData("""{"inputs":[{"name":"a","datatype":"FP32","shape":[2],"data":[1,2]},{"name":"b","datatype":"FP32","data":[1,2]}]}""", 0)]
    // The second input wants more binary bytes than there are.
    [InlineData("""{"inputs":[{"name":"a","datatype":"INT32","shape":[1],"parameters":{"binary_data_size":4}},{"name":"b","datatype":"INT32","shape":[2],"parameters":{"binary_data_size":8}}]}""", 4)]
    // Binary bytes left over after every input.
    [InlineData("""{"inputs":[{"name":"a","datatype":"INT32","shape":[1],"parameters":{"binary_data_size":4}},{"name":"b","datatype":"INT32","shape":[1],"parameters":{"binary_data_size":4}}]}""", 12)]
    // The inputs are fine, the outputs are not.
    [InlineData("""{"inputs":[{"name":"a","datatype":"FP32","shape":[2],"data":[1,2]}],"outputs":[{"name":"x","parameters":{"classification":1}}]}""", 0)]
    // The inputs are fine, then the JSON breaks off.
    [InlineData("""{"inputs":[{"name":"a","datatype":"FP32","shape":[2],"data":[1,2]}],"outputs":[{""", 0)]
    // The inputs are fine, then garbage follows the object.
    [InlineData("""{"inputs":[{"name":"a","datatype":"FP32","shape":[2],"data":[1,2]}]} x""", 0)]
    // The inputs are fine, then a bad id.
    [InlineData("""{"inputs":[{"name":"a","datatype":"FP32","shape":[2],"data":[1,2]}],"id":false}""", 0)]
    public void A_request_that_fails_halfway_returns_every_buffer_to_the_pool(string json, int binaryLength)
    {
        var binary = new byte[binaryLength];
        var outstanding = PooledBufferProbe.Outstanding(() =>
            Assert.Throws<InferenceException>(() => InferRequestDecoder.Decode("m", null, Encoding.UTF8.GetBytes(json), binary, out _)));
        Assert.Equal(0, outstanding);
    }

    private static ModelConfig Config(int maxBatchSize, params ModelInput[] inputs) =>
        TestConfigs.Config("m", maxBatchSize, inputs, [TestConfigs.Output("y", DataType.Fp32, [-1])]);

    private static ModelInput Input(DataType type, params long[] dims) => TestConfigs.Input("x", type, dims);

    [Fact]
    public void Raw_body_solves_the_batch_dimension_from_its_size()
    {
        var body = new byte[24];
        body[5] = 7;
        using var request = InferRequestDecoder.DecodeRaw("m", "1", Config(8, Input(DataType.Fp32, 3)), body);
        Assert.Equal("m", request.ModelName);
        Assert.Equal("1", request.ModelVersion);
        var input = Assert.Single(request.Inputs);
        Assert.Equal("x", input.Name);
        Assert.Equal(DataType.Fp32, input.DataType);
        Assert.Equal(new long[] { 2, 3 }, input.Shape);
        Assert.Equal(body, input.Data.ToArray());
    }

    [Fact]
    public void Raw_body_solves_an_inner_variable_dimension()
    {
        using var request = InferRequestDecoder.DecodeRaw("m", null, Config(0, Input(DataType.Int16, 2, -1, 3)), new byte[2 * 5 * 3 * 2]);
        Assert.Equal(new long[] { 2, 5, 3 }, Assert.Single(request.Inputs).Shape);
    }

    [Fact]
    public void Raw_body_for_a_fixed_shape_keeps_the_shape()
    {
        using var request = InferRequestDecoder.DecodeRaw("m", null, Config(0, Input(DataType.UInt8, 2, 2)), [1, 2, 3, 4]);
        var input = Assert.Single(request.Inputs);
        Assert.Equal(new long[] { 2, 2 }, input.Shape);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, input.Data.ToArray());
    }

    [Fact]
    public void Raw_body_of_a_size_that_does_not_divide_is_rejected()
    {
        var error = Assert.Throws<InferenceException>(() => InferRequestDecoder.DecodeRaw("m", null, Config(8, Input(DataType.Fp32, 3)), new byte[20]));
        Assert.Equal("a raw binary body of 20 bytes is not a whole number of FP32 [-1,3] items for input 'x'", error.Message);
    }

    [Fact]
    public void Raw_body_with_a_zero_dimension_and_a_variable_one_is_rejected()
    {
        var error = Assert.Throws<InferenceException>(() => InferRequestDecoder.DecodeRaw("m", null, Config(0, Input(DataType.Fp32, 0, -1)), new byte[8]));
        Assert.StartsWith("a raw binary body of 8 bytes is not a whole number", error.Message);
    }

    [Fact]
    public void Raw_body_with_two_variable_dimensions_is_rejected()
    {
        var error = Assert.Throws<InferenceException>(() => InferRequestDecoder.DecodeRaw("m", null, Config(8, Input(DataType.Fp32, -1, 3)), new byte[24]));
        Assert.Equal("a raw binary request cannot give input 'x' of shape [-1,-1,3] more than one variable dimension; send a JSON header", error.Message);
    }

    [Fact]
    public void Raw_body_for_a_multi_input_model_is_rejected()
    {
        var config = Config(0, Input(DataType.Fp32, 3), TestConfigs.Input("z", DataType.Fp32, [3]));
        var error = Assert.Throws<InferenceException>(() => InferRequestDecoder.DecodeRaw("m", null, config, new byte[12]));
        Assert.Equal(InferenceErrorKind.InvalidArgument, error.Kind);
        Assert.Equal("a raw binary request (Inference-Header-Content-Length: 0) needs a model with exactly one input; 'm' has 2", error.Message);
    }

    [Theory]
    [InlineData(8, new long[] { 1 }, new long[] { 1, 1 })]
    [InlineData(0, new long[] { -1 }, new long[] { 1 })]
    [InlineData(4, new long[] { -1, -1 }, new long[] { 1, 1, 1 })]
    [InlineData(0, new long[] { }, new long[] { })]
    public void Raw_body_for_bytes_is_one_element(int maxBatchSize, long[] dims, long[] shape)
    {
        var body = Encoding.UTF8.GetBytes("grüße\0!");
        using var request = InferRequestDecoder.DecodeRaw("m", null, Config(maxBatchSize, Input(DataType.Bytes, dims)), body);
        var input = Assert.Single(request.Inputs);
        Assert.Equal(shape, input.Shape);
        Assert.True(BytesTensorLayout.TryCountElements(input.Data, out var count, out _));
        Assert.Equal(1, count);
        var enumerator = BytesTensorLayout.Elements(input.Data);
        Assert.True(enumerator.MoveNext());
        Assert.Equal(body, enumerator.Current.ToArray());
    }

    [Fact]
    public void An_empty_raw_body_for_bytes_is_one_empty_element()
    {
        using var request = InferRequestDecoder.DecodeRaw("m", null, Config(0, Input(DataType.Bytes, 1)), []);
        Assert.Equal(new byte[] { 0, 0, 0, 0 }, Assert.Single(request.Inputs).Data.ToArray());
    }

    // Triton's client sets these parameters after register_system_shared_memory / set_shared_memory; without a check the
    // input would be refused as having no data, which sends the user looking in the wrong place.
    public static readonly TheoryData<string, string> SharedMemoryRequests = new()
    {
        {
            """{"inputs":[{"name":"a","datatype":"INT32","shape":[2],"parameters":{"shared_memory_region":"input_data","shared_memory_byte_size":8}}]}""",
            "input 'a' refers to shared-memory region 'input_data', but this server does not support shared memory (system or CUDA); send its data in the request body"
        },
        {
            """{"inputs":[{"name":"a","datatype":"INT32","shape":[2],"parameters":{"shared_memory_byte_size":8,"shared_memory_offset":0,"shared_memory_region":"r1"}}]}""",
            "input 'a' refers to shared-memory region 'r1', but this server"
        },
        {
            """{"inputs":[{"parameters":{"shared_memory_byte_size":8},"name":"a","datatype":"INT32","shape":[2]}]}""",
            "input 'inputs[0]' refers to shared-memory region, but this server does not support shared memory"
        },
        {
            $$$"""{"inputs":[{{{OneInput}}}],"outputs":[{"name":"y","parameters":{"shared_memory_region":"output_data","shared_memory_byte_size":8}}]}""",
            "output 'y' asks to be written to shared-memory region 'output_data', but this server does not support shared memory (system or CUDA); leave the shared-memory parameters out to get it in the response"
        },
    };

    [Theory]
    [MemberData(nameof(SharedMemoryRequests))]
    public void Shared_memory_parameters_are_refused_naming_the_region(string json, string expected)
    {
        Assert.StartsWith(expected, Rejected(json));
        // Behind a binary body as well: the JSON header is read the same way.
        Assert.StartsWith(expected, Rejected(json, Int32s(1, 2)));
    }
}
