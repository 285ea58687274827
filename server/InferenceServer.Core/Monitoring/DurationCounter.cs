namespace InferenceServer.Core.Monitoring;

/// <summary>
/// A count and a cumulative duration, bumped with <see cref="Interlocked"/> so recording takes no
/// lock. A mutable struct on purpose: it lives in a class's field and is updated in place.
/// </summary>
internal struct DurationCounter
{
    public long Count;
    public long Ns;

    public void Add(long ns)
    {
        Interlocked.Increment(ref Count);
        Interlocked.Add(ref Ns, ns);
    }

    public void AddDurationOnly(long ns) => Interlocked.Add(ref Ns, ns);

    public void AddCountOnly() => Interlocked.Increment(ref Count);

    public readonly DurationStatistic Read() => new(Volatile.Read(in Count), Volatile.Read(in Ns));
}
