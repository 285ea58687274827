using System.Text.Json;
using InferenceServer.Protocols.Http;

namespace InferenceServer.UnitTests.Routing.Rollouts;

/// <summary>The rollout API's body: snake_case keys, the step's figures, the gates and the history as the controller has them.</summary>
public sealed class RolloutJsonTests
{
    private static JsonElement Write(RolloutHarness rollout)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            RolloutJson.Write(writer, rollout.Controller.Status());
        }
        return JsonDocument.Parse(buffer.WrittenMemory).RootElement;
    }

    [Fact]
    public void A_progressing_rollout_shows_its_step_window_gates_and_shadow_counts()
    {
        using var rollout = new RolloutHarness("canary: \"canary\" steps: [5, 25, 50, 100] max_decision_flip_rate: 0.1", shadowed: true);
        rollout.Canary(40, failEvery: 10, ms: 4);
        rollout.Baseline(500, ms: 2);
        rollout.Decisions = 30;
        rollout.Flips = 3;
        rollout.Seconds(12);

        var json = Write(rollout);
        Assert.Equal(
            ["route", "canary", "baseline", "state", "step", "steps", "canary_percent", "step_started", "step_seconds", "waiting", "gates", "window", "promotions", "rollbacks", "history"],
            json.EnumerateObject().Select(p => p.Name));
        Assert.Equal(("income", "canary", "stable", "progressing"), (json.GetProperty("route").GetString(), json.GetProperty("canary").GetString(), json.GetProperty("baseline").GetString(), json.GetProperty("state").GetString()));
        Assert.Equal((1, 5, 12.0), (json.GetProperty("step").GetInt32(), json.GetProperty("canary_percent").GetInt32(), json.GetProperty("step_seconds").GetDouble()));
        Assert.Equal([5, 25, 50, 100], json.GetProperty("steps").EnumerateArray().Select(s => s.GetInt32()));
        Assert.Equal("2025-01-01T00:00:00Z", json.GetProperty("step_started").GetString());
        Assert.Equal("the canary has answered 40 of the 100 requests a step needs before its gates are judged", json.GetProperty("waiting").GetString());

        var gates = json.GetProperty("gates");
        Assert.Equal((60, 100, 0.01, 1.5, 0.1), (gates.GetProperty("min_step_seconds").GetInt32(), gates.GetProperty("min_requests").GetInt32(),
            gates.GetProperty("max_error_rate_increase").GetDouble(), gates.GetProperty("max_p99_ratio").GetDouble(), gates.GetProperty("max_decision_flip_rate").GetDouble()));

        var window = json.GetProperty("window");
        var canary = window.GetProperty("canary");
        Assert.Equal(["requests", "failures", "error_rate", "p50_ms", "p99_ms"], canary.EnumerateObject().Select(p => p.Name));
        Assert.Equal((40, 4, 0.1), (canary.GetProperty("requests").GetInt64(), canary.GetProperty("failures").GetInt64(), canary.GetProperty("error_rate").GetDouble()));
        Assert.InRange(canary.GetProperty("p99_ms").GetDouble(), 3.55, 3.58);
        Assert.InRange(canary.GetProperty("p50_ms").GetDouble(), 2.75, 2.78);
        Assert.Equal(500, window.GetProperty("baseline").GetProperty("requests").GetInt64());
        Assert.Equal((30, 3, 0.1), (window.GetProperty("decisions").GetInt64(), window.GetProperty("flips").GetInt64(), window.GetProperty("flip_rate").GetDouble()));

        var started = Assert.Single(json.GetProperty("history").EnumerateArray());
        Assert.Equal(["time", "event", "from_percent", "to_percent", "reason"], started.EnumerateObject().Select(p => p.Name));
        Assert.Equal(("2025-01-01T00:00:00Z", "started", 0, 5, "step 1 of 4"), (started.GetProperty("time").GetString(), started.GetProperty("event").GetString(),
            started.GetProperty("from_percent").GetInt32(), started.GetProperty("to_percent").GetInt32(), started.GetProperty("reason").GetString()));
    }

    [Fact]
    public void A_rolled_back_rollout_shows_why_and_waits_for_nothing()
    {
        using var rollout = new RolloutHarness("canary: \"canary\" steps: [5, 25, 50, 100]");
        rollout.Baseline(1000);
        rollout.Canary(100, failEvery: 10);
        rollout.Seconds(3);

        var json = Write(rollout);
        Assert.Equal(("rolled_back", 0, 0, 1), (json.GetProperty("state").GetString(), json.GetProperty("canary_percent").GetInt32(),
            json.GetProperty("promotions").GetInt32(), json.GetProperty("rollbacks").GetInt32()));
        Assert.Equal(JsonValueKind.Null, json.GetProperty("waiting").ValueKind);
        Assert.False(json.GetProperty("window").TryGetProperty("decisions", out _));
        var rollback = json.GetProperty("history")[1];
        Assert.Equal(("2025-01-01T00:00:01Z", "rolled_back", 5, 0), (rollback.GetProperty("time").GetString(), rollback.GetProperty("event").GetString(),
            rollback.GetProperty("from_percent").GetInt32(), rollback.GetProperty("to_percent").GetInt32()));
        Assert.StartsWith("error rate gate: the canary's error rate 10% (10 of 100 requests)", rollback.GetProperty("reason").GetString());
    }
}
