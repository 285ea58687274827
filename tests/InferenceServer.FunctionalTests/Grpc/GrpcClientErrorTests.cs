using Google.Protobuf;
using Grpc.Core;
using InferenceServer.Protocols.Grpc.Messages;

namespace InferenceServer.FunctionalTests.Grpc;

/// <summary>
/// What a client gets wrong over gRPC is INVALID_ARGUMENT naming it, never INTERNAL: BYTES that are not the UTF-8 text an
/// ONNX string input holds (refused before the model runs), and an input the model itself refuses.
/// </summary>
public sealed class GrpcClientErrorTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private const string NotText = "input 'TEXT' element 1 is not valid UTF-8 text, which model 'text_upper' needs in its string (BYTES) inputs";

    private GRPCInferenceService.GRPCInferenceServiceClient Client => new(server.Channel);

    private static ModelInferRequest TextUpper(string id, params byte[][] elements)
    {
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "TEXT", Datatype = "BYTES", Contents = new InferTensorContents() };
        input.Shape.Add(elements.Length);
        input.Contents.BytesContents.AddRange(elements.Select(ByteString.CopyFrom));
        var request = new ModelInferRequest { ModelName = "text_upper", Id = id };
        request.Inputs.Add(input);
        return request;
    }

    [Fact]
    public async Task Bytes_contents_that_are_not_utf8_are_invalid_argument_naming_the_element()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Client.ModelInferAsync(TextUpper("t", "ok"u8.ToArray(), [0xC3, 0x28])).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(NotText, error.Status.Detail);
    }

    [Fact]
    public async Task Raw_contents_that_are_not_utf8_are_invalid_argument_naming_the_element()
    {
        var request = TextUpper("t", "ok"u8.ToArray(), [0xED, 0xA0, 0x80]);
        request.Inputs[0].Contents = null;
        request.RawInputContents.Add(ByteString.CopyFrom(Http.V2Client.EncodeBytes("ok"u8.ToArray(), [0xED, 0xA0, 0x80])));

        var error = await Assert.ThrowsAsync<RpcException>(() => Client.ModelInferAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(NotText, error.Status.Detail);
    }

    [Fact]
    public async Task An_input_the_model_refuses_is_invalid_argument_with_the_runtimes_reason()
    {
        // StringNormalizer takes [C > 0] only; ONNX Runtime says so with INVALID_ARGUMENT.
        var error = await Assert.ThrowsAsync<RpcException>(() => Client.ModelInferAsync(TextUpper("empty")).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("Single dimension value must be greater than 0", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stream_answers_such_requests_with_the_error_and_goes_on()
    {
        using var call = Client.ModelStreamInfer();
        await call.RequestStream.WriteAsync(TextUpper("bad", "ok"u8.ToArray(), [0xFF]));
        await call.RequestStream.WriteAsync(TextUpper("good", "ok"u8.ToArray()));
        await call.RequestStream.CompleteAsync();
        var answers = new Dictionary<string, ModelStreamInferResponse>();
        await foreach (var answer in call.ResponseStream.ReadAllAsync())
        {
            answers[answer.InferResponse.Id] = answer;
        }

        Assert.Equal(NotText, answers["bad"].ErrorMessage);
        Assert.Equal("", answers["good"].ErrorMessage);
        var good = answers["good"].InferResponse;
        var upper = good.Outputs.Select((o, i) => (o.Name, i)).Single(o => o.Name == "UPPER").i;
        Assert.Equal(Http.V2Client.EncodeBytes("OK"u8.ToArray()), good.RawOutputContents[upper].ToByteArray());
    }
}
