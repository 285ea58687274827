using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using InferenceServer.LoadTest.Inputs;
using InferenceServer.Protocols.Grpc.Messages;

namespace InferenceServer.LoadTest.Tests.Inputs;

public sealed class InputsTests
{
    private static readonly ModelMetadata Simple = new("simple", ["1"], "onnxruntime_onnx",
        [new TensorMetadata("INPUT0", "INT32", [-1, 16]), new TensorMetadata("INPUT1", "FP32", [-1, 3])],
        [new TensorMetadata("OUTPUT0", "INT32", [-1, 16])]);

    [Fact]
    public void A_jsonl_line_becomes_binary_tensors_and_keeps_the_line_for_rest_json()
    {
        const string line = """{"inputs":[{"name":"A","datatype":"INT32","shape":[2,2],"data":[[1,-2],[3,4]]},{"name":"B","datatype":"BOOL","shape":[3],"data":[true,false,true]},{"name":"C","datatype":"BYTES","shape":[2],"data":["hi","héllo"]},{"name":"D","datatype":"FP16","shape":[1],"data":[1.5]}],"outputs":[{"name":"OUT"}]}""";
        var input = JsonlInputReader.Parse(line);

        Assert.Equal(Encoding.UTF8.GetBytes(line), input.Json);
        Assert.Equal(["OUT"], input.Outputs);
        Assert.Equal([2L, 2], input.Inputs[0].Shape);
        Assert.Equal([1, -2, 3, 4], Enumerable.Range(0, 4).Select(i => BinaryPrimitives.ReadInt32LittleEndian(input.Inputs[0].Data.AsSpan(i * 4))));
        Assert.Equal([1, 0, 1], input.Inputs[1].Data);
        Assert.Equal([2, 0, 0, 0, (byte)'h', (byte)'i', 6, 0, 0, 0, .. Encoding.UTF8.GetBytes("héllo")], input.Inputs[2].Data);
        Assert.Equal((Half)1.5, BinaryPrimitives.ReadHalfLittleEndian(input.Inputs[3].Data));
    }

    [Theory]
    [InlineData("""{"inputs":[{"name":"A","datatype":"INT32","shape":[3],"data":[1,2]}]}""", "needs 3 values, 'data' has 2")]
    [InlineData("""{"inputs":[{"name":"A","datatype":"INT33","shape":[1],"data":[1]}]}""", "unknown datatype 'INT33'")]
    [InlineData("""{"inputs":[]}""", "no 'inputs' array")]
    [InlineData("""{"inputs":[{"name":"A","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":4}}]}""", "binary_data_size has no place")]
    [InlineData("""{"inputs":[{"name":"A","datatype":"FP32","shape":[-1],"data":[1]}]}""", "no -1 dimensions")]
    public void Malformed_requests_are_refused_with_the_reason(string line, string message)
    {
        var error = Assert.Throws<FormatException>(() => JsonlInputReader.Parse(line));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_jsonl_line_s_request_parameters_travel_with_every_protocol()
    {
        var input = JsonlInputReader.Parse("""{"inputs":[{"name":"A","datatype":"FP32","shape":[1],"data":[1]}],"parameters":{"routing_key":"user-7","priority":2,"debug":true,"share":0.5}}""");

        var (body, headerLength) = RequestBodies.RestBinary(input);
        using var header = JsonDocument.Parse(body.AsMemory(0, headerLength));
        var parameters = header.RootElement.GetProperty("parameters");
        Assert.Equal("user-7", parameters.GetProperty("routing_key").GetString());
        Assert.Equal(2, parameters.GetProperty("priority").GetInt32());
        Assert.True(parameters.GetProperty("debug").GetBoolean());
        Assert.Equal(0.5, parameters.GetProperty("share").GetDouble());
        Assert.True(parameters.GetProperty("binary_data_output").GetBoolean());

        var request = ModelInferRequest.Parser.ParseFrom(RequestBodies.Grpc(input, "m", null));
        Assert.Equal("user-7", request.Parameters["routing_key"].StringParam);
        Assert.Equal(2, request.Parameters["priority"].Int64Param);
        Assert.True(request.Parameters["debug"].BoolParam);
        Assert.Equal(0.5, request.Parameters["share"].DoubleParam);

        using var json = JsonDocument.Parse(RequestBodies.RestJson(input));
        Assert.Equal("user-7", json.RootElement.GetProperty("parameters").GetProperty("routing_key").GetString());
    }

    [Fact]
    public void A_line_without_parameters_sends_none_but_binary_output_where_asked()
    {
        var input = JsonlInputReader.Parse("""{"inputs":[{"name":"A","datatype":"FP32","shape":[1],"data":[1]}],"outputs":[{"name":"X"}]}""");

        var (body, headerLength) = RequestBodies.RestBinary(input);
        using var header = JsonDocument.Parse(body.AsMemory(0, headerLength));
        Assert.False(header.RootElement.TryGetProperty("parameters", out _));
        Assert.Empty(ModelInferRequest.Parser.ParseFrom(RequestBodies.Grpc(input, "m", null)).Parameters);
    }

    [Theory]
    [InlineData("""{"inputs":[{"name":"A","datatype":"FP32","shape":[1],"data":[1]}],"parameters":[1]}""", "'parameters' is not an object")]
    [InlineData("""{"inputs":[{"name":"A","datatype":"FP32","shape":[1],"data":[1]}],"parameters":{"key":{"a":1}}}""", "parameter 'key': a request parameter is a string, a number or true/false")]
    [InlineData("""{"inputs":[{"name":"A","datatype":"FP32","shape":[1],"data":[1]}],"parameters":{"binary_data_output":true}}""", "--protocol chooses binary or JSON")]
    public void Request_parameters_that_every_protocol_cannot_carry_are_refused(string line, string message)
    {
        var error = Assert.Throws<FormatException>(() => JsonlInputReader.Parse(line));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_predict_file_s_lines_are_sent_as_they_are_and_a_line_that_is_no_object_is_named()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(path, ["""{"record": {"age": 52}}""", "", """{"entity": {"id": "17"}}"""]);
            var inputs = JsonlInputReader.ReadPredictBodies(path);
            Assert.Equal(["""{"record": {"age": 52}}""", """{"entity": {"id": "17"}}"""], inputs.Select(i => System.Text.Encoding.UTF8.GetString(i.Json!)));
            Assert.All(inputs, i => Assert.Empty(i.Inputs));

            File.WriteAllLines(path, ["""{"record": {"age": 52}}""", "[1, 2]"]);
            var error = Assert.Throws<FormatException>(() => JsonlInputReader.ReadPredictBodies(path));
            Assert.StartsWith(path + ":2: a predict body is a JSON object", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_bad_line_in_a_file_is_named_by_its_number()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(path, ["""{"inputs":[{"name":"A","datatype":"FP32","shape":[1],"data":[1]}]}""", "", "{not json"]);
            var error = Assert.Throws<FormatException>(() => JsonlInputReader.Read(path));
            Assert.StartsWith(path + ":3:", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Generated_inputs_replace_dynamic_dimensions_with_the_batch_size_and_repeat_for_a_seed()
    {
        var inputs = InputGenerator.Generate(Simple, batchSize: 4, count: 3, seed: 2);

        Assert.Equal(3, inputs.Count);
        Assert.Equal([4L, 16], inputs[0].Inputs[0].Shape);
        Assert.Equal(4 * 16 * 4, inputs[0].Inputs[0].Data.Length);
        Assert.Equal([4L, 3], inputs[0].Inputs[1].Shape);
        Assert.NotEqual(inputs[0].Inputs[0].Data, inputs[1].Inputs[0].Data);
        Assert.Equal(inputs[2].Inputs[1].Data, InputGenerator.Generate(Simple, 4, 3, 2)[2].Inputs[1].Data);
        Assert.All(Enumerable.Range(0, 64), i => Assert.InRange(BinaryPrimitives.ReadInt32LittleEndian(inputs[0].Inputs[0].Data.AsSpan(i * 4)), 0, 99));
    }

    [Fact]
    public void The_binary_body_is_a_json_header_naming_each_tensor_s_size_then_the_raw_tensors()
    {
        var input = InputGenerator.Generate(Simple, 2, 1, 1)[0];
        var (body, headerLength) = RequestBodies.RestBinary(input);

        using var header = JsonDocument.Parse(body.AsMemory(0, headerLength));
        var inputs = header.RootElement.GetProperty("inputs");
        Assert.Equal(2 * 16 * 4, inputs[0].GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
        Assert.Equal(2 * 3 * 4, inputs[1].GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
        Assert.Equal("[2,16]", inputs[0].GetProperty("shape").GetRawText());
        Assert.True(header.RootElement.GetProperty("parameters").GetProperty("binary_data_output").GetBoolean());
        Assert.Equal([.. input.Inputs[0].Data, .. input.Inputs[1].Data], body[headerLength..]);
    }

    [Fact]
    public void Named_outputs_are_each_asked_for_in_binary()
    {
        var input = JsonlInputReader.Parse("""{"inputs":[{"name":"A","datatype":"FP32","shape":[1],"data":[1]}],"outputs":[{"name":"X"},{"name":"Y"}]}""");
        var (body, headerLength) = RequestBodies.RestBinary(input);
        using var header = JsonDocument.Parse(body.AsMemory(0, headerLength));
        var outputs = header.RootElement.GetProperty("outputs");
        Assert.Equal(["X", "Y"], outputs.EnumerateArray().Select(o => o.GetProperty("name").GetString()));
        Assert.All(outputs.EnumerateArray(), o => Assert.True(o.GetProperty("parameters").GetProperty("binary_data").GetBoolean()));
    }

    [Fact]
    public void The_json_body_of_generated_inputs_carries_the_same_values()
    {
        var input = InputGenerator.Generate(Simple, 1, 1, 5)[0];
        using var json = JsonDocument.Parse(RequestBodies.RestJson(input));
        var first = json.RootElement.GetProperty("inputs")[0];
        Assert.Equal("INT32", first.GetProperty("datatype").GetString());
        Assert.Equal(Enumerable.Range(0, 16).Select(i => BinaryPrimitives.ReadInt32LittleEndian(input.Inputs[0].Data.AsSpan(i * 4))), first.GetProperty("data").EnumerateArray().Select(e => e.GetInt32()));
        var floats = json.RootElement.GetProperty("inputs")[1].GetProperty("data").EnumerateArray().Select(e => e.GetSingle());
        Assert.Equal(Enumerable.Range(0, 3).Select(i => BinaryPrimitives.ReadSingleLittleEndian(input.Inputs[1].Data.AsSpan(i * 4))), floats);
    }

    [Fact]
    public void The_grpc_body_is_a_serialized_model_infer_request_with_raw_contents()
    {
        var input = InputGenerator.Generate(Simple, 3, 1, 1)[0];
        var body = RequestBodies.Grpc(input, "simple", "1");

        var request = ModelInferRequest.Parser.ParseFrom(body);
        Assert.Equal(("simple", "1"), (request.ModelName, request.ModelVersion));
        Assert.Equal(["INPUT0", "INPUT1"], request.Inputs.Select(i => i.Name));
        Assert.Equal([3L, 16], request.Inputs[0].Shape);
        Assert.Equal(input.Inputs[1].Data, request.RawInputContents[1].ToByteArray());
        Assert.Empty(request.Outputs);
    }

    [Fact]
    public void Rest_metadata_parses_as_the_server_writes_it()
    {
        var metadata = MetadataClient.ParseRest("""{"name":"income","versions":["1"],"platform":"onnxruntime_onnx","inputs":[{"name":"features","datatype":"FP32","shape":[-1,58]}],"outputs":[{"name":"probability","datatype":"FP32","shape":[-1,1]}]}""");
        Assert.Equal("income", metadata.Name);
        Assert.Equal([-1L, 58], metadata.Inputs[0].Shape);
        Assert.Equal("probability", metadata.Outputs[0].Name);
    }
}
