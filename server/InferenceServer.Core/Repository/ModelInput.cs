namespace InferenceServer.Core.Repository;

/// <summary>The generated <c>ModelInput</c> message, read as a tensor of the config.</summary>
public sealed partial class ModelInput : IModelTensor;
