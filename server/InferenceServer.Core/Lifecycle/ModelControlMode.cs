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
    /// <summary>
    /// <c>on-demand</c>: every model of the repositories is listed (not loaded) and loaded on its first request, which waits
    /// for it; with a memory budget the least recently used models are evicted to make room. <c>--load-model</c> names load
    /// at startup, and the repository API's load and unload work as in explicit mode.
    /// </summary>
    OnDemand,
}
