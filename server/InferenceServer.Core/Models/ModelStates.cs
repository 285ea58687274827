namespace InferenceServer.Core.Models;

/// <summary>Protocol spellings of <see cref="ModelState"/>.</summary>
public static class ModelStates
{
    /// <summary>The upper-case name the v2 repository index uses.</summary>
    public static string ProtocolName(this ModelState state) => state switch
    {
        ModelState.Loading => "LOADING",
        ModelState.Ready => "READY",
        ModelState.Unloading => "UNLOADING",
        _ => "UNAVAILABLE",
    };
}
