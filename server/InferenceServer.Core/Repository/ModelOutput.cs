namespace InferenceServer.Core.Repository;

/// <summary>The generated <c>ModelOutput</c> message, read as a tensor of the config.</summary>
public sealed partial class ModelOutput : IModelTensor;
