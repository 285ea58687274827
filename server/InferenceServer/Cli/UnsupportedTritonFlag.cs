namespace InferenceServer.Cli;

/// <summary>A flag of Triton's <c>tritonserver</c> for a feature this server does not have.</summary>
/// <param name="Feature">What the flag is for, as the error names it.</param>
/// <param name="Instead">What to use here instead, when something fits; empty otherwise.</param>
internal sealed record UnsupportedTritonFlag(string Feature, string Instead = "");
