namespace InferenceServer.LoadTest.Inputs;

/// <summary>
/// One distinct request: its input tensors, the outputs it asks for (empty: all), and, when it came from a JSONL
/// file, the line itself (REST JSON sends that verbatim).
/// </summary>
internal sealed record InferenceInput(IReadOnlyList<InputTensor> Inputs, IReadOnlyList<string> Outputs, byte[]? Json = null);
