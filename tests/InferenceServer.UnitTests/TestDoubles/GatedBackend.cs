using InferenceServer.Core.Backends;

namespace InferenceServer.UnitTests.TestDoubles;

/// <summary>
/// A backend whose instances are <see cref="AddOneInstance"/>s and whose instance creation can be
/// held on a gate, counting how many creations run at once: the model manager's load concurrency.
/// </summary>
public sealed class GatedBackend : IModelBackend
{
    private readonly Lock _lock = new();
    private TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _running;

    public GatedBackend(bool open = true)
    {
        if (open)
        {
            _gate.TrySetResult();
        }
    }

    public string Name => "fake";

    public string Platform => "fake_platform";

    public string DefaultModelFilename => "model.fake";

    /// <summary>The most creations that ran at the same time.</summary>
    public int MostConcurrent { get; private set; }

    /// <summary>How many creations are running (held on the gate) now.</summary>
    public int Running
    {
        get
        {
            lock (_lock)
            {
                return _running;
            }
        }
    }

    /// <summary>What each instance created from now on reports holding.</summary>
    public long InstanceMemoryBytes { get; set; }

    /// <summary>Every model path an instance was created for, in order.</summary>
    public List<string> Created { get; } = [];

    public void Open()
    {
        lock (_lock)
        {
            _gate.TrySetResult();
        }
    }

    /// <summary>Holds creations that start from now on until <see cref="Open"/>.</summary>
    public void Close()
    {
        lock (_lock)
        {
            if (_gate.Task.IsCompleted)
            {
                _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    public IModelInstance CreateInstance(InstanceOptions options)
    {
        lock (_lock)
        {
            _running++;
            MostConcurrent = Math.Max(MostConcurrent, _running);
            Created.Add(options.ModelPath);
        }
        Task gate;
        lock (_lock)
        {
            gate = _gate.Task;
        }
        try
        {
            gate.Wait();
            return new AddOneInstance { MemoryBytes = InstanceMemoryBytes };
        }
        finally
        {
            lock (_lock)
            {
                _running--;
            }
        }
    }
}
