using System.Globalization;
using InferenceServer.Core.Inference;
using InferenceServer.UnitTests.TestDoubles;

namespace InferenceServer.UnitTests.Routing.Experiments;

/// <summary>
/// The experiment's sample-ratio check during a rollout: the split it judges is that of the requests routed by the
/// weights in force (the current step's), not a mix of every step's requests against the latest weights.
/// </summary>
public sealed class SampleRatioWindowTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    // The gates never judge (a million requests a step): only the operator's promote moves the steps.
    private const string Route = """
        variant { name: "stable" version: 1 weight: 100 }
        variant { name: "canary" version: 2 weight: 0 }
        rollout { canary: "canary" steps: [ 10, 50, 100 ] min_requests: 1000000 min_step_seconds: 3600 }
        experiment { }
        """;

    // Requests keyed user-{from}..user-{from + count - 1}: by rendezvous hashing, a fixed split for fixed weights.
    private static async Task<long[]> SendAsync(RoutedCore routed, int from, int count)
    {
        var answered = new long[2];
        for (var user = from; user < from + count; user++)
        {
            var context = RoutedCore.Keyed($"user-{user.ToString(CultureInfo.InvariantCulture)}");
            using var request = new InferenceRequest { ModelName = "m" };
            request.Inputs.Add(AddOneInstance.Int32Tensor("INPUT0", [1, 2], 10, 20));
            var target = routed.Core.Door.Resolve("m", null, context);
            using var response = await routed.Core.Door.InferAsync(target, request, context, CancellationToken.None).WaitAsync(Patience);
            answered[response.Variant == "stable" ? 0 : 1]++;
        }
        return answered;
    }

    private static double ChiSquare(long[] observed, double[] shares)
    {
        var total = observed.Sum();
        var chiSquare = 0.0;
        for (var i = 0; i < observed.Length; i++)
        {
            var expected = total * shares[i];
            chiSquare += (observed[i] - expected) * (observed[i] - expected) / expected;
        }
        return chiSquare;
    }

    [Fact]
    public async Task After_a_step_the_check_judges_the_steps_requests_against_the_steps_weights()
    {
        await using var routed = await RoutedCore.StartAsync();
        routed.Publish("m", Route);

        var first = await SendAsync(routed, 0, 400);
        var report = routed.Core.Door.Experiment("m");
        Assert.Equal([90u, 10u], report.Variants.Select(v => v.Weight));
        Assert.Equal(ChiSquare(first, [0.9, 0.1]), report.SampleRatio.ChiSquare!.Value, 9);
        Assert.False(report.SampleRatio.Mismatch);

        routed.Core.Door.ControlRollout("m", "promote");
        // The new weights have routed nothing yet: there is no split of theirs to judge.
        Assert.Null(routed.Core.Door.Experiment("m").SampleRatio.ChiSquare);
        var second = await SendAsync(routed, 1000, 400);

        report = routed.Core.Door.Experiment("m");
        Assert.Equal([50u, 50u], report.Variants.Select(v => v.Weight));
        // The variants' requests are the whole experiment's; the check counts only those the 50/50 weights routed.
        Assert.Equal([first[0] + second[0], first[1] + second[1]], report.Variants.Select(v => v.Requests));
        Assert.Equal(ChiSquare(second, [0.5, 0.5]), report.SampleRatio.ChiSquare!.Value, 9);
        Assert.False(report.SampleRatio.Mismatch, $"step 1 answered {first[0]}/{first[1]}, step 2 {second[0]}/{second[1]}: p = {report.SampleRatio.PValue}");
    }
}
