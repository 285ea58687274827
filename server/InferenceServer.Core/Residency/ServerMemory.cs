namespace InferenceServer.Core.Residency;

/// <summary>
/// The server's own memory, for a budget that counts the process (<c>--model-memory-budget-counts process</c>): the
/// process's resident memory above the empty server's, less what the loaded models are charged. Under traffic it is
/// mostly the GC's committed heap (5 MiB empty, 70–110 MiB at 1,024 connections in the many-models runs), code pages
/// the JIT and the libraries touch, and the C allocator's per-thread arenas; none of it belongs to a model, yet all of it
/// is in the process's RSS, which is what a machine or a container limit sees.
/// </summary>
/// <remarks>
/// The empty server's memory is taken once, just before the first model load under the budget (<see cref="MarkEmpty"/>):
/// on demand, that is after the first request reached the server, so the runtime, Kestrel and the request path's first
/// code are in it. A one-time cost that a later load pays (ONNX Runtime's set-up on its first session) is charged to that
/// model, and once the model is evicted what it did not give back counts here, as it should: the process still holds it.
/// </remarks>
/// <param name="residentBytes">Reads the process's resident bytes now (<see cref="ProcessMemory.ResidentBytes"/>; a script in tests).</param>
/// <param name="checkEvery">How often the residency checks whether the server's own growth alone took the process over the
/// budget, between loads; <see cref="Timeout.InfiniteTimeSpan"/>: never (tests call the check themselves).</param>
/// <param name="reclaim">Asks the server to give back what it holds but does not need, before models are evicted for it
/// (<see cref="TryReclaim"/>); null: nothing to ask.</param>
internal sealed class ServerMemory(Func<long> residentBytes, TimeSpan checkEvery, Action? reclaim = null)
{
    /// <summary>How often the process is checked between loads: often enough that traffic's growth is met within a second, and one small read each.</summary>
    public static readonly TimeSpan DefaultCheckEvery = TimeSpan.FromMilliseconds(250);

    /// <summary>The least time between two reclaims: each is a full blocking collection, so at most one pause every this long.</summary>
    public static readonly TimeSpan ReclaimEvery = TimeSpan.FromSeconds(10);

    private long _emptyBytes = -1;
    private long _lastReclaimMs = long.MinValue;

    /// <summary>
    /// This process, read from /proc/self/statm; it reclaims with a full, compacting collection in the GC's aggressive mode,
    /// which also decommits the free memory the GC keeps committed. Measured in the many-models run: under overload the
    /// GC's committed memory grew steadily to 154 MiB (5 MiB empty) while the budget evicted models to make room for it,
    /// and no collection of its own gave it back, since the GC does not know the budget.
    /// </summary>
    public static ServerMemory OfThisProcess() => new(ProcessMemory.ResidentBytes, DefaultCheckEvery,
        static () => GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true));

    /// <summary>How often to check between loads; <see cref="Timeout.InfiniteTimeSpan"/> when never.</summary>
    public TimeSpan CheckEvery => checkEvery;

    /// <summary>The empty server's resident bytes, or null before <see cref="MarkEmpty"/>.</summary>
    public long? EmptyBytes => Volatile.Read(ref _emptyBytes) is >= 0 and var bytes ? bytes : null;

    /// <summary>Takes the empty server's memory now, unless it was taken already; true the first time.</summary>
    public bool MarkEmpty() => Interlocked.CompareExchange(ref _emptyBytes, Math.Max(0, residentBytes()), -1) == -1;

    /// <summary>
    /// The process's resident bytes above the empty server's that are not the models' (<paramref name="chargedBytes"/>, what
    /// the loaded models are charged): never below 0 (the allocator may give back more than a model was charged). 0 before
    /// <see cref="MarkEmpty"/>.
    /// </summary>
    public long OwnBytes(long chargedBytes) => EmptyBytes is { } empty ? Math.Max(0, residentBytes() - empty - chargedBytes) : 0;

    /// <summary>
    /// Before models are evicted for the server's own memory: has the server give back what it can (a model evicted costs a
    /// reload later; the GC's free memory costs one pause), at most once every <see cref="ReclaimEvery"/>. True when it did,
    /// and the caller should read <see cref="OwnBytes"/> again.
    /// </summary>
    public bool TryReclaim()
    {
        if (reclaim is null)
        {
            return false;
        }
        var now = Environment.TickCount64;
        var last = Volatile.Read(ref _lastReclaimMs);
        if (last != long.MinValue && now - last < (long)ReclaimEvery.TotalMilliseconds)
        {
            return false;
        }
        if (Interlocked.CompareExchange(ref _lastReclaimMs, now, last) != last)
        {
            return false;
        }
        reclaim();
        return true;
    }
}
