using Google.Protobuf;
using InferenceServer.Core.Features;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Tensors;
using InferenceServer.Protocols.Grpc.Messages;
using OutputTensor = InferenceServer.Protocols.Grpc.Messages.ModelInferResponse.Types.InferOutputTensor;

namespace InferenceServer.Protocols.Grpc;

/// <summary>
/// Builds a <c>ModelInferResponse</c> whose <c>raw_output_contents</c> wrap the output tensors' pooled buffers
/// (no copy); serialized with <see cref="ProtobufMessageWriting.WriteProtobuf"/>, the output bytes are copied once,
/// straight into the response pipe.
/// Every output travels raw, as Triton sends them; clients read every datatype from raw contents.
/// </summary>
internal static class GrpcInferResponseEncoder
{
    public static ModelInferResponse ToMessage(InferenceResponse response)
    {
        var message = new ModelInferResponse
        {
            ModelName = response.ModelName,
            ModelVersion = response.ModelVersion,
            Id = response.Id,
        };
        if (response.Variant is { } variant)
        {
            // The variant of a route that answered; ModelInfer also has it in a trailer, a stream's answers only here.
            message.Parameters.Add(InferenceResponse.VariantParameter, new InferParameter { StringParam = variant });
        }
        if (response.FeatureView is { } view)
        {
            // Inputs a feature view made: its version, and the label of the (first) row's score, as predict answers them.
            message.Parameters.Add(FeatureParameters.ViewVersion, new InferParameter { Int64Param = view.Version });
            if (PredictionLabels.TryRead(response, 0, out var label, out _))
            {
                message.Parameters.Add(FeatureParameters.Prediction, new InferParameter { StringParam = label });
            }
        }
        foreach (var output in response.Outputs)
        {
            var tensor = new OutputTensor { Name = output.Name, Datatype = output.DataType.ProtocolName() };
            tensor.Shape.AddRange(output.Shape);
            message.Outputs.Add(tensor);
            // Valid while the response is undisposed; the caller writes the message before disposing it.
            message.RawOutputContents.Add(UnsafeByteOperations.UnsafeWrap(output.Memory));
        }
        return message;
    }
}
