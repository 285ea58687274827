namespace InferenceServer.Core.Scheduling;

/// <summary>Conversions between configured microseconds and a <see cref="TimeProvider"/>'s timestamp ticks.</summary>
internal static class Timestamps
{
    /// <summary>
    /// <paramref name="microseconds"/> in ticks of a clock running at <paramref name="frequency"/>; 0 for
    /// none, and capped so that a timestamp plus the result cannot overflow.
    /// </summary>
    public static long FromMicroseconds(long microseconds, long frequency)
    {
        if (microseconds <= 0)
        {
            return 0;
        }
        var ticks = (Int128)microseconds * frequency / 1_000_000;
        return ticks > long.MaxValue / 4 ? long.MaxValue / 4 : (long)ticks;
    }
}
