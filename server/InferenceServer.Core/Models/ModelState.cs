namespace InferenceServer.Core.Models;

/// <summary>A model version's state, named as the repository index reports it (READY, UNAVAILABLE, ...).</summary>
public enum ModelState
{
    /// <summary>LOADING: being loaded; takes no traffic yet.</summary>
    Loading,
    /// <summary>READY: serving.</summary>
    Ready,
    /// <summary>UNLOADING: finishing accepted requests; takes no new ones.</summary>
    Unloading,
    /// <summary>UNAVAILABLE: failed to load (see the reason) or unloaded.</summary>
    Unavailable,
}
