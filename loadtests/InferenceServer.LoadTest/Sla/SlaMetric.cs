namespace InferenceServer.LoadTest.Sla;

/// <summary>What an SLA assertion measures.</summary>
internal enum SlaMetric
{
    /// <summary>A latency percentile of the successful requests.</summary>
    Percentile,

    /// <summary>The largest latency of a successful request.</summary>
    Max,

    /// <summary>The mean latency of the successful requests.</summary>
    Mean,

    /// <summary>Failed requests, as a share of all requests (with %) or as a count.</summary>
    Errors,

    /// <summary>Successful requests per second over the measured window.</summary>
    Throughput,

    /// <summary>Open loop: requests that started later than the late threshold, as a share (with %) or a count.</summary>
    Late,
}
