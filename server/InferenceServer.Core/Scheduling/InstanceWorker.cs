using System.Diagnostics;
using InferenceServer.Core.Backends;

namespace InferenceServer.Core.Scheduling;

/// <summary>
/// One instance and the dedicated thread that runs its batches. Backends block while they run
/// (native calls), so each instance gets its own thread: a slow batch never holds up another
/// instance, nor the thread pool.
/// </summary>
/// <remarks>
/// The hand-off: an idle thread first spins for <see cref="SpinMicroseconds"/>, watching for a batch,
/// and only then blocks. Waking a blocked thread goes through the kernel (issue 3 measured about 6 µs
/// more than a thread-pool continuation); a request that arrives within the spin is picked up without
/// it. The spin is sized to cover a closed-loop client's round trip over loopback HTTP (tens of µs
/// between a response and the next request), so one client in a loop never pays the wake. It yields
/// its core to any thread that is ready to run, so a busy machine loses little to it; its cost is at
/// most one spin per request, and an idle model stops spinning one spin after its last request.
/// </remarks>
internal sealed class InstanceWorker
{
    /// <summary>How long an idle thread watches for a batch before it blocks.</summary>
    public const int SpinMicroseconds = 100;

    private const int Busy = 0;
    private const int Spinning = 1;
    private const int Sleeping = 2;
    private const int Handed = 3;

    private static readonly long DefaultSpinTicks = SpinMicroseconds * Stopwatch.Frequency / 1_000_000;

    [ThreadStatic]
    private static bool t_onInstanceThread;

    private readonly SemaphoreSlim _wake = new(0);
    private readonly long _spinTicks;
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _state;
    // When its thread last went to sleep (Stopwatch ticks); written before the state becomes Sleeping.
    private long _sleptAt;
    private volatile bool _stopping;

    /// <summary><paramref name="spinTicks"/>: how long its idle thread spins, in <see cref="Stopwatch"/> ticks (null: <see cref="SpinMicroseconds"/>).</summary>
    public InstanceWorker(IModelInstance instance, int index, int batchCapacity, ResourceLease? lease, long? spinTicks = null)
    {
        _spinTicks = spinTicks ?? DefaultSpinTicks;
        Instance = instance;
        Index = index;
        Batch = new Batch(batchCapacity);
        Lease = lease;
    }

    public IModelInstance Instance { get; }

    public int Index { get; }

    /// <summary>The batch it runs next (or now); filled under the scheduler's lock while the worker is idle.</summary>
    public Batch Batch { get; }

    /// <summary>Its place in the rate limiter; null when the limiter is off or its group asks for no resources.</summary>
    public ResourceLease? Lease { get; }

    /// <summary>It holds its <see cref="Lease"/>'s resources (under the scheduler's lock).</summary>
    public bool HoldsResources { get; set; }

    /// <summary>
    /// It waits in the rate limiter's line (under the scheduler's lock): out of the idle ones, with no batch, until its
    /// resources are granted or the work it waited for is gone.
    /// </summary>
    public bool Staged { get; set; }

    /// <summary>The limiter granted it while the scheduler was taking it out of line: the grant's callback is on its way.</summary>
    public bool GrantPending { get; set; }

    /// <summary>When it joined the rate limiter's line, for the time models wait for resources.</summary>
    public long StagedAt { get; set; }

    /// <summary>Set (under the scheduler's lock) when the instance is being removed: after its current batch it leaves instead of going idle.</summary>
    public bool Retiring { get; set; }

    /// <summary>
    /// How long its last batch took to run and answer, in <see cref="Stopwatch"/> ticks (<see cref="long.MaxValue"/> before
    /// the first): whether a caller may run the next one on its own thread. Written by whichever thread ran the batch, read
    /// under the scheduler's lock; a stale value only moves one decision.
    /// </summary>
    public long LastRunTicks { get; set; } = long.MaxValue;

    /// <summary>Chains workers one dispatch started, to hand them their batches outside the lock.</summary>
    public InstanceWorker? NextStarted { get; set; }

    public Task Exited => _exited.Task;

    /// <summary>
    /// The current thread is an instance's (of any scheduler): one that answers inline runs its caller's continuation,
    /// whose next request must not be run here, as this thread's own instance counts as idle meanwhile.
    /// </summary>
    public static bool OnInstanceThread => t_onInstanceThread;

    public void Start(string name, Action<InstanceWorker> loop)
    {
        var thread = new Thread(static state =>
        {
            var (worker, body) = ((InstanceWorker, Action<InstanceWorker>))state!;
            ThreadNice.KeepThisThread();
            t_onInstanceThread = true;
            try
            {
                body(worker);
            }
            finally
            {
                worker._exited.TrySetResult();
            }
        })
        {
            IsBackground = true,
            Name = name,
        };
        ThreadNice.StartAtStartPriority(thread, (this, loop));
    }

    /// <summary>Marks the worker as waiting for a batch; called before it is listed as idle, so no hand-off can come first.</summary>
    public void BecomeIdle() => Volatile.Write(ref _state, Spinning);

    /// <summary>A batch (or the stop) has been handed over and the thread has not taken it up yet.</summary>
    public bool HasBatch => Volatile.Read(ref _state) == Handed;

    /// <summary>
    /// Its thread is past its spin and blocked (or about to block) until the next <see cref="Hand"/>: nothing but a
    /// hand-off moves it on from here, so for an idle worker this stays true until it is handed a batch.
    /// </summary>
    public bool Asleep => Volatile.Read(ref _state) == Sleeping;

    /// <summary>
    /// <see cref="Asleep"/>, and since at least <paramref name="ticks"/> (<see cref="Stopwatch"/> ticks) before
    /// <paramref name="now"/>: the instance has had nothing to do for that long, not merely outwaited its spin.
    /// </summary>
    public bool AsleepFor(long ticks, long now) => Asleep && now - Volatile.Read(ref _sleptAt) >= ticks;

    /// <summary>Gives the thread the batch now in <see cref="Batch"/>, waking it only when it stopped spinning.</summary>
    public void Hand()
    {
        if (Interlocked.Exchange(ref _state, Handed) == Sleeping)
        {
            _wake.Release();
        }
    }

    /// <summary>Lets an idle worker's thread end.</summary>
    public void Stop()
    {
        _stopping = true;
        Hand();
    }

    /// <summary>Runs on the worker's thread: waits until it has a batch (true) or must stop (false).</summary>
    public bool WaitForBatch()
    {
        if (Volatile.Read(ref _state) != Handed)
        {
            // Stopwatch, not the scheduler's TimeProvider: this bounds CPU spent spinning, which a test's
            // fake clock must not stretch.
            var until = Stopwatch.GetTimestamp() + _spinTicks;
            var spinner = default(SpinWait);
            while (Volatile.Read(ref _state) != Handed)
            {
                if (Stopwatch.GetTimestamp() >= until)
                {
                    // Only a hand-off moves the state on from Spinning; if one came first, it is ours without waiting.
                    Volatile.Write(ref _sleptAt, Stopwatch.GetTimestamp());
                    if (Interlocked.CompareExchange(ref _state, Sleeping, Spinning) == Spinning)
                    {
                        _wake.Wait();
                    }
                    break;
                }
                spinner.SpinOnce(sleep1Threshold: -1);
            }
        }
        Volatile.Write(ref _state, Busy);
        return !_stopping;
    }
}
