using System.Text.Json;
using InferenceServer.Core.Routing.Experiments;

namespace InferenceServer.Protocols.Http;

/// <summary>
/// The body of <c>GET /v2/models/{route}/experiment</c>: the report with snake_case keys. Every key is always present,
/// so a client reads one shape; a figure the data cannot support yet is <c>null</c> and the <c>note</c> beside it says
/// why ("not enough data: ...").
/// </summary>
internal static class ExperimentJson
{
    public static void Write(Utf8JsonWriter writer, ExperimentReport report)
    {
        writer.WriteStartObject();
        writer.WriteString("route"u8, report.Route);
        writer.WriteString("control"u8, report.Control);
        writer.WriteNumber("alpha"u8, report.Alpha);
        writer.WriteNumber("confidence"u8, report.Confidence);
        writer.WriteNumber("power"u8, report.Power);
        writer.WriteNumber("window"u8, report.Window);
        WriteNumber(writer, "mde"u8, report.MinimumDetectableEffect);
        WriteString(writer, "note"u8, report.Note);
        var srm = report.SampleRatio;
        writer.WriteStartObject("srm"u8);
        WriteNumber(writer, "chi_square"u8, srm.ChiSquare);
        WriteNumber(writer, "p_value"u8, srm.PValue);
        writer.WriteBoolean("mismatch"u8, srm.Mismatch);
        WriteString(writer, "note"u8, srm.Note);
        writer.WriteEndObject();
        writer.WriteStartArray("variants"u8);
        foreach (var variant in report.Variants)
        {
            writer.WriteStartObject();
            writer.WriteString("name"u8, variant.Name);
            writer.WriteString("model"u8, variant.Model);
            WriteString(writer, "version"u8, variant.Version);
            writer.WriteNumber("weight"u8, variant.Weight);
            writer.WriteNumber("requests"u8, variant.Requests);
            writer.WriteNumber("outcomes"u8, variant.Outcomes);
            writer.WriteNumber("conversions"u8, variant.Conversions);
            WriteNumber(writer, "rate"u8, variant.Rate);
            WriteNumber(writer, "ci_low"u8, variant.CiLow);
            WriteNumber(writer, "ci_high"u8, variant.CiHigh);
            writer.WriteNumber("labels"u8, variant.Labels);
            WriteNumber(writer, "mean_label"u8, variant.MeanLabel);
            WriteNumber(writer, "accuracy"u8, variant.Accuracy);
            WriteNumber(writer, "mean_abs_error"u8, variant.MeanAbsoluteError);
            WriteNumber(writer, "diff"u8, variant.Difference);
            WriteNumber(writer, "lift"u8, variant.Lift);
            WriteNumber(writer, "p_value"u8, variant.PValue);
            writer.WriteBoolean("significant"u8, variant.Significant);
            WriteNumber(writer, "mde"u8, variant.MinimumDetectableEffect);
            WriteString(writer, "note"u8, variant.Note);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WriteNumber(Utf8JsonWriter writer, ReadOnlySpan<byte> name, double? value)
    {
        if (value is { } number)
        {
            writer.WriteNumber(name, number);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    private static void WriteString(Utf8JsonWriter writer, ReadOnlySpan<byte> name, string? value)
    {
        if (value is null)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteString(name, value);
        }
    }
}
