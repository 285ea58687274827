namespace InferenceServer.LoadTest.Inputs;

/// <summary>One input tensor: its bytes in the v2 binary layout, ready for any of the three wire formats.</summary>
internal sealed record InputTensor(string Name, string DataType, long[] Shape, byte[] Data);
