using System.Text;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Tensors;
using InferenceServer.Protocols.Buffers;
using InferenceServer.Protocols.Http;

namespace InferenceServer.UnitTests.Protocols.Http;

public sealed class InferResponseEncoderTests
{
    private static (string Json, long Binary) Write(InferenceResponse response, OutputFormat format)
    {
        using var buffer = new PooledBufferWriter(16);
        var binary = InferResponseEncoder.WriteJson(buffer, response, format);
        return (Encoding.UTF8.GetString(buffer.WrittenMemory.Span), binary);
    }

    private static InferenceResponse Response(string id) => new("m", "2", id,
    [
        Tensor.Copy("x", DataType.Int32, [1, 2], [1, 0, 0, 0, 2, 0, 0, 0]),
        Tensor.Copy("y", DataType.Bool, [3], [1, 0, 1]),
    ]);

    [Fact]
    public void Json_outputs_carry_their_data()
    {
        using var response = Response("r1");
        var (json, binary) = Write(response, OutputFormat.AllJson);
        Assert.Equal(
            """{"model_name":"m","model_version":"2","id":"r1","outputs":[{"name":"x","datatype":"INT32","shape":[1,2],"data":[1,2]},{"name":"y","datatype":"BOOL","shape":[3],"data":[true,false,true]}]}""",
            json);
        Assert.Equal(0, binary);
    }

    [Fact]
    public void An_empty_id_is_left_out()
    {
        using var response = Response("");
        Assert.DoesNotContain("\"id\"", Write(response, OutputFormat.AllJson).Json);
    }

    [Fact]
    public void Binary_outputs_carry_their_size_and_add_up()
    {
        using var response = Response("");
        var (json, binary) = Write(response, OutputFormat.AllBinary);
        Assert.Contains("""{"name":"x","datatype":"INT32","shape":[1,2],"parameters":{"binary_data_size":8}}""", json);
        Assert.Contains("""{"name":"y","datatype":"BOOL","shape":[3],"parameters":{"binary_data_size":3}}""", json);
        Assert.DoesNotContain("\"data\"", json);
        Assert.Equal(11, binary);
    }

    [Fact]
    public void Per_output_format_picks_which_go_binary()
    {
        using var response = Response("");
        var format = new OutputFormat(false, new Dictionary<string, bool> { ["y"] = true });
        var (json, binary) = Write(response, format);
        Assert.Contains("\"data\":[1,2]", json);
        Assert.Contains("\"binary_data_size\":3", json);
        Assert.Equal(3, binary);
    }
}
