namespace InferenceServer.Core.Lifecycle;

/// <summary>Triton's <c>--model-control-mode</c>: how the set of loaded models changes after startup.</summary>
public enum ModelControlMode
{
    /// <summary>Load everything in the repository at startup; never change.</summary>
    None,
    /// <summary>Watch the repository and follow its changes.</summary>
    Poll,
    /// <summary>Load only what is named at startup or through the repository API.</summary>
    Explicit,
}
