namespace InferenceServer.Core.Devices;

/// <summary>One GPU as the server names it: its CUDA ordinal, its product name and its UUID (the label Triton's GPU metrics carry).</summary>
public sealed record GpuDevice(int Index, string Name, string Uuid);
