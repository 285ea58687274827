namespace InferenceServer.Protocols.Grpc;

// Placeholder until the full model_config.proto mapping lands.
internal static class ModelConfigMessages
{
    public static Messages.ModelConfig ToMessage(Core.Repository.ModelConfig config) => new() { Name = config.Name };
}
