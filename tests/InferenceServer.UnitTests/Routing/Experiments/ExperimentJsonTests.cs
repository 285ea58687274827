using System.Buffers;
using System.Text;
using System.Text.Json;
using InferenceServer.Core.Routing.Experiments;
using InferenceServer.Protocols.Http;

namespace InferenceServer.UnitTests.Routing.Experiments;

/// <summary>The experiment report as <c>GET /v2/models/{route}/experiment</c> writes it.</summary>
public sealed class ExperimentJsonTests
{
    private static string Json(ExperimentReport report)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, V2Json.WriterOptions))
        {
            ExperimentJson.Write(writer, report);
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    [Fact]
    public void A_report_without_data_has_every_key_with_nulls_and_notes()
    {
        VariantTraffic[] traffic = [new("mlp", "income", "1", 90, 0, 0), new("gbt", "income_gbt", null, 10, 0, 0)];
        var report = ExperimentReport.Build("income_ab", traffic, [default, default], OutcomeLogTests.Declared());

        // One line in the body; broken here at each key that opens a part.
        var expected = """
            {"route":"income_ab","control":"mlp","alpha":0.05,"confidence":0.95,"power":0.8,"window":100000,"mde":null,"note":null,
            "srm":{"chi_square":null,"p_value":null,"mismatch":false,"note":"not enough data: the check needs at least 5 expected requests for every weighted variant"},
            "variants":[
            {"name":"mlp","model":"income","version":"1","weight":90,"requests":0,"outcomes":0,"conversions":0,"rate":null,"ci_low":null,"ci_high":null,
            "labels":0,"mean_label":null,"accuracy":null,"mean_abs_error":null,"diff":null,"lift":null,"p_value":null,"significant":false,"mde":null,"note":"control"},
            {"name":"gbt","model":"income_gbt","version":null,"weight":10,"requests":0,"outcomes":0,"conversions":0,"rate":null,"ci_low":null,"ci_high":null,
            "labels":0,"mean_label":null,"accuracy":null,"mean_abs_error":null,"diff":null,"lift":null,"p_value":null,"significant":false,"mde":null,"note":"not enough data: no outcomes yet"}
            ]}
            """;
        Assert.Equal(expected.ReplaceLineEndings(""), Json(report));
    }

    [Fact]
    public void A_report_with_data_writes_its_figures_and_the_notes_read_plainly()
    {
        VariantTraffic[] traffic = [new("mlp", "income", "1", 50, 5000, 5000), new("gbt", "income_gbt", "2", 50, 5200, 5200)];
        VariantOutcomes control = new(1000, 200, Labels: 1000, LabelSum: 200, Predicted: 1000, Correct: 850, AbsoluteErrorSum: 250);
        VariantOutcomes variant = new(1000, 250, Labels: 0, LabelSum: 0, Predicted: 0, Correct: 0, AbsoluteErrorSum: 0);
        var report = ExperimentReport.Build("income_ab", traffic, [control, variant], OutcomeLogTests.Declared());

        using var json = JsonDocument.Parse(Json(report));
        var root = json.RootElement;
        Assert.Equal(report.MinimumDetectableEffect, root.GetProperty("mde").GetDouble());
        var srm = root.GetProperty("srm");
        Assert.Equal(report.SampleRatio.ChiSquare, srm.GetProperty("chi_square").GetDouble());
        Assert.Equal(report.SampleRatio.PValue, srm.GetProperty("p_value").GetDouble());
        Assert.False(srm.GetProperty("mismatch").GetBoolean());
        Assert.Equal(JsonValueKind.Null, srm.GetProperty("note").ValueKind);

        var first = root.GetProperty("variants")[0];
        Assert.Equal((0.2, 0.2, 0.85, 0.25), (first.GetProperty("rate").GetDouble(), first.GetProperty("mean_label").GetDouble(),
            first.GetProperty("accuracy").GetDouble(), first.GetProperty("mean_abs_error").GetDouble()));
        var second = root.GetProperty("variants")[1];
        var expected = report.Variants[1];
        Assert.Equal((expected.CiLow, expected.CiHigh, expected.Difference, expected.Lift, expected.PValue, expected.MinimumDetectableEffect),
            (second.GetProperty("ci_low").GetDouble(), second.GetProperty("ci_high").GetDouble(), second.GetProperty("diff").GetDouble(),
             second.GetProperty("lift").GetDouble(), second.GetProperty("p_value").GetDouble(), second.GetProperty("mde").GetDouble()));
        Assert.True(second.GetProperty("significant").GetBoolean());
        Assert.Equal("2", second.GetProperty("version").GetString());
        Assert.Equal(JsonValueKind.Null, second.GetProperty("note").ValueKind);

        // A note quoting the control's name is written as read, not escaped (\u0027).
        var noControl = ExperimentReport.Build("income_ab", traffic, [default, variant], OutcomeLogTests.Declared());
        Assert.Contains("\"note\":\"not enough data: no outcomes yet for the control 'mlp'\"", Json(noControl));
    }
}
