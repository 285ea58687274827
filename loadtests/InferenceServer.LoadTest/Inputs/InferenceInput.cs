using System.Text.Json;

namespace InferenceServer.LoadTest.Inputs;

/// <summary>
/// One distinct request: its input tensors, the outputs it asks for (empty: all), and, when it came from a JSONL
/// file, the line itself (REST JSON sends that verbatim) and its request-level <c>parameters</c> object (strings,
/// numbers and booleans, e.g. a routing key), which REST binary and gRPC send too.
/// </summary>
internal sealed record InferenceInput(IReadOnlyList<InputTensor> Inputs, IReadOnlyList<string> Outputs, byte[]? Json = null, JsonElement? Parameters = null);
