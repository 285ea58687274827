using System.Diagnostics.Metrics;
using InferenceServer.Core.Monitoring;

namespace InferenceServer.Protocols.Metrics;

/// <summary>
/// Listens to this server's <see cref="InferenceMetrics.MeterName"/> meter and keeps every
/// instrument's cumulative series for the Prometheus exposition. Only meters from the given
/// factory are heard, so several servers in one process (the functional tests) keep apart.
/// </summary>
internal sealed class MetricsCollector : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly object _scope;
    // Separate locks: publishing may run under the runtime's instrument lock, collecting calls into
    // the instruments, so the two must never wait on each other.
    private readonly Lock _familiesLock = new();
    private readonly Lock _collectLock = new();
    private readonly List<MetricFamily> _families = [];

    public MetricsCollector(IMeterFactory meterFactory)
    {
        _scope = meterFactory;
        _listener.InstrumentPublished = OnInstrumentPublished;
        _listener.SetMeasurementEventCallback<long>(static (_, value, tags, state) => ((MetricFamily)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>(static (_, value, tags, state) => ((MetricFamily)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>(static (_, value, tags, state) => ((MetricFamily)state!).Record(value, tags));
        _listener.Start();
    }

    /// <summary>Reads every family: observable instruments are asked for their current values first.</summary>
    public IReadOnlyList<MetricFamilySnapshot> Collect()
    {
        MetricFamily[] families;
        lock (_familiesLock)
        {
            families = [.. _families];
        }
        lock (_collectLock)
        {
            foreach (var family in families)
            {
                if (family.IsObservable)
                {
                    family.Clear();
                }
            }
            _listener.RecordObservableInstruments();
            var snapshots = new List<MetricFamilySnapshot>(families.Length);
            foreach (var family in families)
            {
                snapshots.Add(family.Snapshot());
            }
            return snapshots;
        }
    }

    private void OnInstrumentPublished(Instrument instrument, MeterListener listener)
    {
        if (instrument.Meter.Name != InferenceMetrics.MeterName || !ReferenceEquals(instrument.Meter.Scope, _scope))
        {
            return;
        }
        lock (_familiesLock)
        {
            // One family per name: a second instrument under a name already taken would write a duplicate family.
            foreach (var existing in _families)
            {
                if (existing.Name == instrument.Name)
                {
                    return;
                }
            }
            var family = new MetricFamily(instrument);
            _families.Add(family);
            listener.EnableMeasurementEvents(instrument, family);
        }
    }

    public void Dispose() => _listener.Dispose();
}
