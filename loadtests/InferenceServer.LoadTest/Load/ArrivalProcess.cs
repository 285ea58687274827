namespace InferenceServer.LoadTest.Load;

/// <summary>How open-loop arrivals are spaced.</summary>
internal enum ArrivalProcess
{
    /// <summary>Evenly: at rate R, one request every 1/R seconds.</summary>
    Constant,

    /// <summary>A Poisson process: exponentially distributed gaps with mean 1/R, as independent users would arrive.</summary>
    Poisson,
}
