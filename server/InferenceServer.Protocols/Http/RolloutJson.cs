using System.Text.Json;
using InferenceServer.Core.Routing.Rollouts;

namespace InferenceServer.Protocols.Http;

/// <summary>The body of the rollout API: a route's rollout, its current step's figures and its history.</summary>
internal static class RolloutJson
{
    /// <summary>
    /// <c>{"route", "canary", "baseline", "state", "step", "steps", "canary_percent", "step_started", "step_seconds",
    /// "waiting", "gates": {...}, "window": {"canary": {...}, "baseline": {...}[, "decisions", "flips", "flip_rate"]},
    /// "promotions", "rollbacks", "history": [{"time", "event", "from_percent", "to_percent", "reason"}]}</c>;
    /// times in ISO 8601 UTC, latencies in milliseconds, rates as shares (0.05 = 5%).
    /// </summary>
    public static void Write(Utf8JsonWriter writer, RolloutStatus status)
    {
        var config = status.Config;
        writer.WriteStartObject();
        writer.WriteString("route"u8, status.Route);
        writer.WriteString("canary"u8, config.Canary);
        writer.WriteString("baseline"u8, config.Baseline);
        writer.WriteString("state"u8, Name(status.State));
        writer.WriteNumber("step"u8, status.Step);
        writer.WriteStartArray("steps"u8);
        foreach (var step in config.Steps)
        {
            writer.WriteNumberValue(step);
        }
        writer.WriteEndArray();
        writer.WriteNumber("canary_percent"u8, status.CanaryPercent);
        writer.WriteString("step_started"u8, status.StepStarted.UtcDateTime);
        writer.WriteNumber("step_seconds"u8, Math.Round(status.StepElapsed.TotalSeconds, 3));
        if (status.Waiting is null)
        {
            writer.WriteNull("waiting"u8);
        }
        else
        {
            writer.WriteString("waiting"u8, status.Waiting);
        }

        writer.WriteStartObject("gates"u8);
        writer.WriteNumber("min_step_seconds"u8, config.MinStepSeconds);
        writer.WriteNumber("min_requests"u8, config.MinRequests);
        writer.WriteNumber("max_error_rate_increase"u8, config.MaxErrorRateIncrease);
        writer.WriteNumber("max_p99_ratio"u8, config.MaxP99Ratio);
        writer.WriteNumber("max_decision_flip_rate"u8, config.MaxDecisionFlipRate);
        writer.WriteEndObject();

        writer.WriteStartObject("window"u8);
        WriteWindow(writer, "canary"u8, status.Canary);
        WriteWindow(writer, "baseline"u8, status.Baseline);
        if (status.Decisions is { } decisions && status.Flips is { } flips)
        {
            writer.WriteNumber("decisions"u8, decisions);
            writer.WriteNumber("flips"u8, flips);
            writer.WriteNumber("flip_rate"u8, decisions == 0 ? 0 : (double)flips / decisions);
        }
        writer.WriteEndObject();

        writer.WriteNumber("promotions"u8, status.Promotions);
        writer.WriteNumber("rollbacks"u8, status.Rollbacks);
        writer.WriteStartArray("history"u8);
        foreach (var entry in status.History)
        {
            writer.WriteStartObject();
            writer.WriteString("time"u8, entry.Time.UtcDateTime);
            writer.WriteString("event"u8, Name(entry.Kind));
            writer.WriteNumber("from_percent"u8, entry.FromPercent);
            writer.WriteNumber("to_percent"u8, entry.ToPercent);
            writer.WriteString("reason"u8, entry.Reason);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WriteWindow(Utf8JsonWriter writer, ReadOnlySpan<byte> name, VariantWindowSnapshot window)
    {
        writer.WriteStartObject(name);
        writer.WriteNumber("requests"u8, window.Requests);
        writer.WriteNumber("failures"u8, window.Failures);
        writer.WriteNumber("error_rate"u8, window.ErrorRate);
        writer.WriteNumber("p50_ms"u8, window.P50Ms);
        writer.WriteNumber("p99_ms"u8, window.P99Ms);
        writer.WriteEndObject();
    }

    /// <summary>The state's name in the rollout API (REST and gRPC alike).</summary>
    internal static string Name(RolloutState state) => state switch
    {
        RolloutState.Progressing => "progressing",
        RolloutState.Paused => "paused",
        RolloutState.Promoted => "promoted",
        RolloutState.RolledBack => "rolled_back",
        RolloutState.Aborted => "aborted",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, null),
    };

    /// <summary>The event's name in the rollout API (REST and gRPC alike).</summary>
    internal static string Name(RolloutEventKind kind) => kind switch
    {
        RolloutEventKind.Started => "started",
        RolloutEventKind.Paused => "paused",
        RolloutEventKind.Resumed => "resumed",
        RolloutEventKind.Promoted => "promoted",
        RolloutEventKind.RolledBack => "rolled_back",
        RolloutEventKind.Aborted => "aborted",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };
}
