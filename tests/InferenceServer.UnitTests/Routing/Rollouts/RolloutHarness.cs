using InferenceServer.Core.Routing;
using InferenceServer.Core.Routing.Rollouts;
using InferenceServer.UnitTests.TestDoubles;
using Microsoft.Extensions.Logging;

namespace InferenceServer.UnitTests.Routing.Rollouts;

/// <summary>
/// A rollout of route 'income' (variant 0 "stable" the baseline, 1 "canary", 2 "other") read from a routing.pbtxt
/// as the server reads it, on the fake clock, with the weights it sets and the shadow counts it reads kept here.
/// </summary>
internal sealed class RolloutHarness : IDisposable
{
    public const int Stable = 0;
    public const int CanaryIndex = 1;
    public const int Other = 2;

    public RolloutHarness(string rollout, bool shadowed = false, long decisions = 0, long flips = 0)
    {
        (Decisions, Flips) = (decisions, flips);
        var declaration = RoutingConfigReader.Parse($$"""
            variant { name: "stable" version: 1 weight: 100 }
            variant { name: "canary" version: 2 }
            variant { name: "other" version: 3 }
            rollout { {{rollout}} }
            """, "income", besideModel: true);
        Controller = new RolloutController("income", declaration.Config.Rollout, CanaryIndex, Stable, SetCanaryPercent,
            shadowed ? () => (Decisions, Flips) : null, Clock, Logger);
    }

    public ManualTimeProvider Clock { get; } = new();

    public ListLogger Logger { get; } = new();

    /// <summary>Every share the controller gave the canary, in order.</summary>
    public List<uint> Percents { get; } = [];

    /// <summary>The shadow's cumulative counts the controller reads.</summary>
    public long Decisions { get; set; }

    public long Flips { get; set; }

    /// <summary>How many of the next weight changes fail (the route's callback throwing).</summary>
    public int FailingSets { get; set; }

    public RolloutController Controller { get; }

    public RolloutStatus Status => Controller.Status();

    /// <summary>Requests answered by the canary: every <paramref name="failEvery"/>-th fails (0: none), latencies spread over ±50% of <paramref name="ms"/>.</summary>
    public void Canary(int requests, int failEvery = 0, double ms = 2) => Answer(CanaryIndex, requests, failEvery, ms);

    public void Baseline(int requests, int failEvery = 0, double ms = 2) => Answer(Stable, requests, failEvery, ms);

    public void Answer(int variant, int requests, int failEvery, double ms)
    {
        for (var i = 1; i <= requests; i++)
        {
            var latency = TimeSpan.FromMilliseconds(ms * (0.5 + (i % 100) / 100.0));
            Controller.Record(variant, failEvery == 0 || i % failEvery != 0, latency);
        }
    }

    public void Seconds(double seconds) => Clock.Advance(TimeSpan.FromSeconds(seconds));

    public IEnumerable<string> Logged(LogLevel level) => Logger.Entries.Where(e => e.Level == level).Select(e => e.Message);

    public void Dispose() => Controller.Dispose();

    private void SetCanaryPercent(uint percent)
    {
        if (FailingSets > 0)
        {
            FailingSets--;
            throw new InvalidOperationException("the weights could not be set");
        }
        Percents.Add(percent);
    }
}
