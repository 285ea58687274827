using System.Text.Json;
using System.Xml;
using System.Xml.Linq;
using InferenceServer.LoadTest.Capacity;
using InferenceServer.LoadTest.Ceiling;
using InferenceServer.LoadTest.Cli;
using InferenceServer.LoadTest.Load;
using InferenceServer.LoadTest.Reporting;
using InferenceServer.LoadTest.Sla;
using InferenceServer.LoadTest.Targets;
using InferenceServer.LoadTest.Tests.TestDoubles;

namespace InferenceServer.LoadTest.Tests.Reporting;

public sealed class ReportTests
{
    private static readonly DateTimeOffset Started = new(2026, 5, 1, 12, 0, 0, TimeSpan.Zero);

    private static RunReport OpenRun(string name = "steady")
    {
        var options = Assert.Single(ArgumentParser.Parse(["--model", "income", "--protocol", "rest-binary", "--rate", "100", "--sla", "p99<20ms,errors<1%"]).Runs) with { Name = name };
        var summary = Summaries.Typical(errors: 5, mode: LoadMode.Open, late: 3);
        return new RunReport
        {
            Options = options,
            Summary = summary,
            Checks = SlaEvaluator.Evaluate(options.Sla, summary),
            Ceiling = new CeilingMeasurement(Protocol.RestBinary, 32, "a trivial endpoint in this process", Summaries.With(Enumerable.Repeat(0.5, 50_000), seconds: 5)),
            Warnings = ["a warning"],
            ExitCode = 0,
        };
    }

    private static RunReport CapacityRun()
    {
        var options = Assert.Single(ArgumentParser.Parse(["--model", "income", "--find-max-rate", "--sla", "p99<8ms"]).Runs) with { Name = "capacity" };
        var trials = new[] { 100.0, 200, 400, 300 }.Select(rate =>
        {
            var summary = Summaries.With(Enumerable.Range(0, 500).Select(i => rate / 50 * (1 + (i / 500.0))), seconds: 5, mode: LoadMode.Open, series: Summaries.Series());
            var checks = SlaEvaluator.Evaluate(options.Sla, summary);
            return new CapacityTrial(rate, checks.All(c => c.Passed), summary, checks) { Full = rate > 200, Duration = TimeSpan.FromSeconds(5), SamplesWanted = 10_000, LoadAverage = 1.5 };
        }).ToList();
        var result = new CapacityResult(200, 300, trials, "bracketed") { Confirmed = true, NoisyRates = [300] };
        return new RunReport { Options = options, Summary = trials[1].Summary, Checks = trials[1].Checks, Capacity = result, ExitCode = 0 };
    }

    private static JsonDocument Json(IReadOnlyList<RunReport> runs, IReadOnlyList<CeilingMeasurement> ceilings, int exitCode)
    {
        using var stream = new MemoryStream();
        JsonResultWriter.Write(stream, runs, ceilings, Started, Started.AddSeconds(30), exitCode);
        return JsonDocument.Parse(stream.ToArray());
    }

    [Fact]
    public void The_json_result_has_every_documented_field()
    {
        var run = OpenRun();
        using var json = Json([run], [run.Ceiling!], 0);
        var root = json.RootElement;

        Assert.Equal("inference-server-loadtest/1", root.GetProperty("schema").GetString());
        Assert.Equal(0, root.GetProperty("exitCode").GetInt32());
        Assert.True(root.GetProperty("passed").GetBoolean());
        Assert.Equal("rest-binary", root.GetProperty("ceiling")[0].GetProperty("protocol").GetString());
        Assert.Equal(10_000, root.GetProperty("ceiling")[0].GetProperty("throughput").GetDouble(), 6);

        var r = Assert.Single(root.GetProperty("runs").EnumerateArray());
        Assert.Equal("steady", r.GetProperty("name").GetString());
        Assert.Equal("income", r.GetProperty("target").GetProperty("model").GetString());
        Assert.Equal("rest-binary", r.GetProperty("target").GetProperty("protocol").GetString());
        Assert.Equal(JsonValueKind.Null, r.GetProperty("target").GetProperty("version").ValueKind);
        var load = r.GetProperty("load");
        Assert.Equal("open", load.GetProperty("mode").GetString());
        Assert.Equal(100, load.GetProperty("rate").GetDouble());
        Assert.Equal("constant", load.GetProperty("arrival").GetString());
        Assert.Equal("generated", load.GetProperty("inputs").GetProperty("source").GetString());

        var summary = r.GetProperty("summary");
        Assert.Equal(1005, summary.GetProperty("requests").GetInt64());
        Assert.Equal(1000, summary.GetProperty("successes").GetInt64());
        Assert.Equal(5, summary.GetProperty("errors").GetInt64());
        Assert.Equal(100, summary.GetProperty("throughput").GetDouble(), 6);
        var latency = r.GetProperty("latencyMs");
        foreach (var name in (string[])["min", "mean", "p50", "p90", "p95", "p99", "p99.9", "max"])
        {
            Assert.True(latency.GetProperty(name).GetDouble() > 0, name);
        }
        Assert.InRange(latency.GetProperty("p99").GetDouble(), 9.8, 10);
        Assert.Equal(3, r.GetProperty("schedule").GetProperty("late").GetInt64());
        Assert.Equal(1, r.GetProperty("schedule").GetProperty("lateThresholdMs").GetDouble());
        var error = Assert.Single(r.GetProperty("errorsByKind").EnumerateArray());
        Assert.Equal(("HTTP 503", "http", 503, 5, "model busy"), (error.GetProperty("kind").GetString(), error.GetProperty("category").GetString(), error.GetProperty("code").GetInt32(), error.GetProperty("count").GetInt64(), error.GetProperty("sample").GetString()));

        var sla = r.GetProperty("sla");
        Assert.True(sla.GetProperty("passed").GetBoolean());
        Assert.Equal(["p99<20ms", "errors<1%"], sla.GetProperty("assertions").EnumerateArray().Select(a => a.GetProperty("assertion").GetString()));
        Assert.Equal("ms", sla.GetProperty("assertions")[0].GetProperty("unit").GetString());
        Assert.Equal("share", sla.GetProperty("assertions")[1].GetProperty("unit").GetString());

        Assert.Equal(11, r.GetProperty("timeSeries").GetArrayLength());
        Assert.True(r.GetProperty("timeSeries")[0].GetProperty("warmup").GetBoolean());
        Assert.Equal(1000, r.GetProperty("histogram").EnumerateArray().Sum(b => b.GetProperty("count").GetInt64()));
        Assert.Equal(100, r.GetProperty("percentileSpectrum").EnumerateArray().Last().GetProperty("percentile").GetDouble());
        Assert.Equal(JsonValueKind.Null, r.GetProperty("capacity").ValueKind);
        Assert.Equal(0.01, r.GetProperty("generator").GetProperty("share").GetDouble(), 6);
        Assert.Equal(["a warning"], r.GetProperty("warnings").EnumerateArray().Select(w => w.GetString()));
        Assert.Empty(r.GetProperty("failures").EnumerateArray());
    }

    [Fact]
    public void A_capacity_search_lists_its_trials_in_the_json()
    {
        using var json = Json([CapacityRun()], [], 0);
        var capacity = json.RootElement.GetProperty("runs")[0].GetProperty("capacity");

        Assert.Equal(200, capacity.GetProperty("maxRate").GetDouble());
        Assert.Equal(300, capacity.GetProperty("lowestFailingRate").GetDouble());
        Assert.Equal([100.0, 200, 400, 300], capacity.GetProperty("trials").EnumerateArray().Select(t => t.GetProperty("rate").GetDouble()));
        Assert.Equal([true, true, false, false], capacity.GetProperty("trials").EnumerateArray().Select(t => t.GetProperty("passed").GetBoolean()));
        Assert.NotEmpty(capacity.GetProperty("trials")[2].GetProperty("failed").EnumerateArray());
        Assert.Equal(0.2, capacity.GetProperty("uncertainty").GetDouble(), 9);
        Assert.True(capacity.GetProperty("confirmed").GetBoolean());
        Assert.Equal([300.0], capacity.GetProperty("noisyRates").EnumerateArray().Select(r => r.GetDouble()));
        var trial = capacity.GetProperty("trials")[3];
        Assert.True(trial.GetProperty("full").GetBoolean());
        Assert.Equal(5, trial.GetProperty("durationSeconds").GetDouble());
        Assert.Equal(10_000, trial.GetProperty("samplesWanted").GetInt64());
        Assert.Equal(500, trial.GetProperty("samples").GetInt64());
        Assert.Equal(1.5, trial.GetProperty("loadAverage").GetDouble());
    }

    [Fact]
    public void The_console_gives_the_capacity_with_its_interval_and_how_each_trial_was_sized()
    {
        using var text = new StringWriter();
        ConsoleReport.WriteRun(text, CapacityRun());
        var output = text.ToString();

        Assert.Contains("capacity     200/s (between 200/s and 300/s, ±20%; confirmed by a repeated full trial) — bracketed", output, StringComparison.Ordinal);
        Assert.Contains("[scouting, 5.0 s, 500 samples (wanted 10,000), load 1.5]", output, StringComparison.Ordinal);
        Assert.Contains("[full, 5.0 s, 500 samples (wanted 10,000), load 1.5]", output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_run_that_never_started_keeps_the_same_keys()
    {
        var options = Assert.Single(ArgumentParser.Parse(["--model", "m"]).Runs);
        using var json = Json([new RunReport { Options = options, ExitCode = 1, Failures = ["no request was sent"] }], [], 1);
        var r = json.RootElement.GetProperty("runs")[0];
        Assert.Equal(JsonValueKind.Null, r.GetProperty("summary").ValueKind);
        Assert.Equal(JsonValueKind.Null, r.GetProperty("latencyMs").ValueKind);
        Assert.Equal(0, r.GetProperty("timeSeries").GetArrayLength());
        Assert.False(json.RootElement.GetProperty("passed").GetBoolean());
    }

    [Fact]
    public void The_html_report_is_well_formed_and_draws_its_charts_as_inline_svg()
    {
        var run = OpenRun(name: "steady <&> \"quoted\"");
        var html = HtmlReport.Render([run, CapacityRun()], [run.Ceiling!], Started, Started.AddSeconds(30), 0);

        var document = Parse(html);
        XNamespace xhtml = "http://www.w3.org/1999/xhtml";
        XNamespace svg = "http://www.w3.org/2000/svg";
        var charts = document.Descendants(svg + "svg").ToList();
        // Four charts per run, and the capacity search's trials.
        Assert.Equal(9, charts.Count);
        var titles = charts.Select(c => c.Element(svg + "title")!.Value).ToList();
        Assert.Contains("Latency percentiles over time", titles);
        Assert.Contains("Throughput over time", titles);
        Assert.Contains("Latency distribution", titles);
        Assert.Contains("Latency by percentile", titles);
        Assert.Contains(titles, t => t.StartsWith("Capacity search", StringComparison.Ordinal));
        Assert.Contains(document.Descendants(xhtml + "h3"), h => h.Value.Contains("between 200/s and 300/s, ±20%", StringComparison.Ordinal));
        Assert.All(charts, c => Assert.True(c.Descendants().Count() > 10));
        Assert.Contains(document.Descendants(xhtml + "h2"), h => h.Value.StartsWith("steady <&> \"quoted\"", StringComparison.Ordinal));
        Assert.Contains(document.Descendants(xhtml + "code"), c => c.Value == "p99<20ms");
        Assert.Empty(document.Descendants(xhtml + "script"));
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org/", "", StringComparison.Ordinal).Replace("http://127.0.0.1:8000", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void A_chart_without_data_says_so()
    {
        var chart = new SvgChart { Title = "empty", Series = [new ChartSeries("none", "#000", SeriesKind.Line, [])] }.Render();
        Assert.Contains("no data", Parse(chart).Root!.Value, StringComparison.Ordinal);
    }

    [Fact]
    public void A_log_axis_ticks_at_powers_of_ten()
    {
        var chart = new SvgChart
        {
            Title = "log",
            XLog = true,
            Series = [new ChartSeries("bars", "#000", SeriesKind.Bars, [new Point(0.05, 3, 0.06), new Point(120, 1, 130)])],
        }.Render();
        var ticks = Parse(chart).Descendants().Where(e => (string?)e.Attribute("class") == "tick").Select(e => e.Value).ToList();
        Assert.Contains("0.01", ticks);
        Assert.Contains("1", ticks);
        Assert.Contains("1000", ticks);
    }

    private static XDocument Parse(string markup)
    {
        using var reader = XmlReader.Create(new StringReader(markup), new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore });
        return XDocument.Load(reader);
    }
}
