namespace InferenceServer.LoadTest.Targets;

/// <summary>Sends prepared inference requests over one protocol. Safe to call from many threads at once.</summary>
internal interface IInferenceTarget : IAsyncDisposable
{
    /// <summary>How many models the requests go to (1 unless the run names several with <c>--models</c>); callers pick one by index.</summary>
    int ModelCount { get; }

    /// <summary>How many distinct prepared requests there are; callers pick one by index.</summary>
    int InputCount { get; }

    /// <summary>
    /// Sends prepared request <paramref name="input"/> to model <paramref name="model"/> and waits for the whole response.
    /// Server answers become outcomes; transport failures and cancellation throw (see <see cref="ErrorClassifier"/>).
    /// </summary>
    ValueTask<RequestOutcome> SendAsync(int model, int input, CancellationToken cancellationToken);
}
