namespace InferenceServer.LoadTest.Load;

/// <summary>How load is offered.</summary>
internal enum LoadMode
{
    /// <summary>A fixed number of workers, each sending its next request when the previous one is answered.</summary>
    Closed,

    /// <summary>Requests at scheduled times, whether or not earlier ones have been answered.</summary>
    Open,
}
