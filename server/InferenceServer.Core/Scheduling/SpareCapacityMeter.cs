namespace InferenceServer.Core.Scheduling;

/// <summary>
/// Tells whether a model's demand fits its capacity, for ending the shedding of its priority levels: in windows of at
/// least <see cref="QueueDefaults.ShedWindow"/> and <see cref="QueueDefaults.ShedWindowRequests"/> arrivals it counts the
/// arrivals (refused ones included) and the requests that ran on an instance with nothing else to do, and demand fits
/// when at least 1 in <see cref="QueueDefaults.SpareShareDenominator"/> did (see there why this signal). Counters only,
/// no allocation; guarded by the scheduler's lock.
/// </summary>
internal sealed class SpareCapacityMeter
{
    private readonly long _window;
    private readonly long _quiet;
    private long _start;
    private long _lastArrival;
    private long _arrivals;
    private long _spare;

    /// <param name="timestampFrequency">Ticks per second of the timestamps given.</param>
    public SpareCapacityMeter(long timestampFrequency)
    {
        _window = Timestamps.FromMicroseconds((long)QueueDefaults.ShedWindow.TotalMicroseconds, timestampFrequency);
        _quiet = Timestamps.FromMicroseconds((long)QueueDefaults.QuietFor.TotalMicroseconds, timestampFrequency);
        _lastArrival = long.MinValue / 2;
    }

    /// <summary>
    /// Counts a request arriving at <paramref name="now"/>; true when demand fits capacity: the window it closes shows
    /// enough spare capacity, or nothing arrived for <see cref="QueueDefaults.QuietFor"/> before it.
    /// </summary>
    public bool Arrived(long now)
    {
        var quiet = now - _lastArrival >= _quiet;
        _lastArrival = now;
        if (quiet)
        {
            Restart(now);
            _arrivals = 1;
            return true;
        }
        _arrivals++;
        if (now - _start < _window || _arrivals < QueueDefaults.ShedWindowRequests)
        {
            return false;
        }
        var fits = _spare * QueueDefaults.SpareShareDenominator >= _arrivals;
        Restart(now);
        return fits;
    }

    /// <summary><paramref name="requests"/> ran on an instance that had nothing else to do.</summary>
    public void Spare(int requests) => _spare += requests;

    /// <summary>Starts a new window: what came before says nothing about the overload a level just started shedding for.</summary>
    public void Restart(long now)
    {
        _start = now;
        _arrivals = 0;
        _spare = 0;
    }
}
