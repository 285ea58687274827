using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Scoring;

/// <summary>
/// One prediction column of the output: element <paramref name="Element"/> of each row of model output
/// <paramref name="Output"/> (its index among the outputs asked for). An output of one value per row is one column of
/// its name; one of several values is a column per value, <c>name_0</c>, <c>name_1</c>, ...
/// </summary>
internal sealed record OutputColumn(string Name, int Output, int Element, int Width, DataType Type);
