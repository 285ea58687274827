using InferenceServer.Core.Backends;

namespace InferenceServer.Core.Scheduling;

/// <summary>
/// The scheduler's instances, each with its own thread (<see cref="InstanceWorker"/>), and which of
/// them are idle. The most recently idled instance is handed the next batch: its thread is the likeliest
/// to be still spinning, and its caches are warm. Guarded by the scheduler's lock.
/// </summary>
internal sealed class InstancePool(int batchCapacity, long? spinTicks = null)
{
    private readonly List<InstanceWorker> _workers = [];
    private readonly List<InstanceWorker> _staged = [];
    private InstanceWorker[] _idle = new InstanceWorker[4];
    private int _retiring;
    private int _nextIndex;

    /// <summary>Idle instances.</summary>
    public int IdleCount { get; private set; }

    /// <summary>Instances that stay: those being removed are not counted.</summary>
    public int Count => _workers.Count - _retiring;

    /// <summary>Every instance is idle: nothing runs.</summary>
    public bool AllIdle => IdleCount == _workers.Count;

    /// <summary>Every instance is idle and its thread asleep: what tests of run-on-caller wait for.</summary>
    public bool AllAsleep
    {
        get
        {
            if (!AllIdle)
            {
                return false;
            }
            for (var i = 0; i < IdleCount; i++)
            {
                if (!_idle[i].Asleep)
                {
                    return false;
                }
            }
            return true;
        }
    }

    /// <summary>Instances waiting for rate-limiter resources (neither idle nor running).</summary>
    public int StagedCount => _staged.Count;

    /// <summary>Adds an instance, idle; the caller starts its thread. <paramref name="lease"/>: its place in the rate limiter, if any.</summary>
    public InstanceWorker Add(IModelInstance instance, ResourceLease? lease)
    {
        var worker = new InstanceWorker(instance, _nextIndex++, batchCapacity, lease, spinTicks);
        _workers.Add(worker);
        if (_idle.Length < _workers.Count)
        {
            Array.Resize(ref _idle, 2 * _idle.Length);
        }
        worker.BecomeIdle();
        _idle[IdleCount++] = worker;
        return worker;
    }

    /// <summary>The instance the next batch goes to; only while <see cref="IdleCount"/> is above 0.</summary>
    public InstanceWorker PeekIdle() => _idle[IdleCount - 1];

    /// <summary>Takes <see cref="PeekIdle"/> out of the idle ones: it is about to be handed a batch.</summary>
    public void TakeIdle() => _idle[--IdleCount] = null!;

    /// <summary>Takes <see cref="PeekIdle"/> out of the idle ones into the rate limiter's line.</summary>
    public void Stage()
    {
        var worker = _idle[IdleCount - 1];
        TakeIdle();
        worker.Staged = true;
        _staged.Add(worker);
    }

    /// <summary>The <paramref name="index"/>th instance in the rate limiter's line, oldest first.</summary>
    public InstanceWorker StagedAt(int index) => _staged[index];

    /// <summary>
    /// <paramref name="worker"/> leaves the rate limiter's line: it becomes the first idle one (true), or leaves the pool
    /// (false) when it is being removed; the caller then stops its thread.
    /// </summary>
    public bool Unstage(InstanceWorker worker)
    {
        _staged.Remove(worker);
        worker.Staged = false;
        worker.GrantPending = false;
        if (worker.Retiring)
        {
            _workers.Remove(worker);
            _retiring--;
            return false;
        }
        // Not BecomeIdle: its thread has been waiting for a batch all along, and may be asleep already.
        _idle[IdleCount++] = worker;
        return true;
    }

    /// <summary>
    /// A worker finished its batch: it becomes idle (true), or leaves the pool (false) when it is being removed.
    /// <paramref name="onItsThread"/>: its own thread ran the batch and now waits for the next; otherwise a caller ran it
    /// and the thread has been asleep all along, which must not be undone.
    /// </summary>
    public bool Finished(InstanceWorker worker, bool onItsThread = true)
    {
        if (worker.Retiring)
        {
            _workers.Remove(worker);
            _retiring--;
            return false;
        }
        if (onItsThread)
        {
            worker.BecomeIdle();
        }
        _idle[IdleCount++] = worker;
        return true;
    }

    /// <summary>
    /// Starts removing <paramref name="instance"/>: false when it is not in the pool, is already leaving, or is
    /// the last one that stays. An idle instance leaves at once (<paramref name="idle"/>: the caller stops its
    /// thread); a busy one leaves after its batch.
    /// </summary>
    public bool TryRemove(IModelInstance instance, out InstanceWorker worker, out bool idle)
    {
        worker = null!;
        idle = false;
        foreach (var candidate in _workers)
        {
            if (ReferenceEquals(candidate.Instance, instance))
            {
                worker = candidate;
                break;
            }
        }
        if (worker is null || worker.Retiring || _workers.Count - _retiring <= 1)
        {
            return false;
        }
        var at = Array.IndexOf(_idle, worker, 0, IdleCount);
        if (at >= 0)
        {
            _idle[at] = _idle[--IdleCount];
            _idle[IdleCount] = null!;
            _workers.Remove(worker);
            idle = true;
        }
        else
        {
            worker.Retiring = true;
            _retiring++;
        }
        return true;
    }

    /// <summary>The instances in the pool now.</summary>
    public InstanceWorker[] ToArray() => [.. _workers];
}
