using InferenceServer.Core.Inference;

namespace InferenceServer.Protocols;

/// <summary>
/// Triton's shared-memory extension, which this server does not implement: a tensor that names a region (the
/// <c>shared_memory_region</c>, <c>shared_memory_byte_size</c> and <c>shared_memory_offset</c> parameters) is refused
/// with the same reason over REST and gRPC, instead of reading as a tensor without data.
/// </summary>
internal static class SharedMemory
{
    /// <summary>The parameter naming the region.</summary>
    public const string RegionParameter = "shared_memory_region";

    /// <summary>The parameter giving the tensor's size in the region.</summary>
    public const string ByteSizeParameter = "shared_memory_byte_size";

    /// <summary>The parameter giving the tensor's offset in the region.</summary>
    public const string OffsetParameter = "shared_memory_offset";

    /// <summary>Whether <paramref name="parameter"/> is one of the extension's tensor parameters.</summary>
    public static bool IsParameter(string parameter) =>
        parameter is RegionParameter or ByteSizeParameter or OffsetParameter;

    /// <summary>The 400 / INVALID_ARGUMENT reason: <paramref name="tensor"/> <paramref name="verb"/> the region (named when known); what to do <paramref name="instead"/>.</summary>
    public static InferenceException NotSupported(string tensor, string verb, string? region, string instead) =>
        InferenceException.Invalid(
            $"{tensor} {verb} shared-memory region{(string.IsNullOrEmpty(region) ? "" : $" '{region}'")}, but this server does not support shared memory (system or CUDA); {instead}");

}
