using InferenceServer.FeatureSidecar.Stores;

namespace InferenceServer.UnitTests.FeatureSidecar;

/// <summary>Keeps what a store reports, one line per event, for the tests to compare.</summary>
internal sealed class RecordingStoreObserver : IStoreObserver
{
    private readonly Lock _lock = new();
    private readonly List<string> _events = [];

    public IReadOnlyList<string> Events
    {
        get
        {
            lock (_lock)
            {
                return [.. _events];
            }
        }
    }

    public void Connected() => Add("connected");

    public void ConnectFailed(StoreFailure failure, string message) => Add($"connect failed ({failure}): {message}");

    public void Reloaded(int entities) => Add($"reloaded: {entities}");

    public void ReloadFailed(string message, int entitiesKept) => Add($"reload failed, kept {entitiesKept}: {message}");

    private void Add(string line)
    {
        lock (_lock)
        {
            _events.Add(line);
        }
    }
}
