namespace InferenceServer.Core.Monitoring;

/// <summary>Cumulative CPU jiffies since boot: busy ones and all of them.</summary>
internal readonly record struct CpuTimes(long Busy, long Total);
