using System.Diagnostics.Metrics;

namespace InferenceServer.UnitTests.Monitoring;

/// <summary>A meter factory of its own, so a test's collector hears only the meters of its own test.</summary>
internal sealed class TestMeterFactory : IMeterFactory
{
    private readonly List<Meter> _meters = [];

    public Meter Create(MeterOptions options)
    {
        lock (_meters)
        {
            var existing = _meters.Find(m => m.Name == options.Name);
            if (existing is not null)
            {
                return existing;
            }
            var meter = new Meter(new MeterOptions(options.Name) { Version = options.Version, Tags = options.Tags, Scope = this });
            _meters.Add(meter);
            return meter;
        }
    }

    public void Dispose()
    {
        lock (_meters)
        {
            foreach (var meter in _meters)
            {
                meter.Dispose();
            }
            _meters.Clear();
        }
    }
}
