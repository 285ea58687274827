namespace InferenceServer.UnitTests.Monitoring;

/// <summary>A wall clock that only moves when the test says.</summary>
internal sealed class ManualTimeProvider(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}
