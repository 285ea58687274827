namespace InferenceServer.Core.Models;

/// <summary>One row of the repository index.</summary>
/// <param name="Name">Model (or route) name.</param>
/// <param name="Version">Version number; empty when the model failed before any version was known, and for a route of its own folder.</param>
/// <param name="State">The version's state.</param>
/// <param name="Reason">Why it is not READY; empty when it is, except a READY route whose changed file did not load (the published route serves on), and a
/// READY version that serves FP32 because the quantized variant its config asked for was refused (the reason gives the gate's figures).</param>
public sealed record ModelIndexEntry(string Name, string Version, ModelState State, string Reason)
{
    /// <summary>A loaded version's footprint against the memory budgets; null for rows that hold no memory.</summary>
    public ModelIndexMemory? Memory { get; init; }

    /// <summary>The precision a version serves when its config asked for a quantized variant (<c>int8-dynamic</c>, <c>fp32</c> when refused); empty otherwise.</summary>
    public string Precision { get; init; } = "";
}
