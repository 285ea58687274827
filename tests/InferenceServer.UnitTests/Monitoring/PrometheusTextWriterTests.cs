using System.Diagnostics.Metrics;
using System.Text;
using InferenceServer.Core.Monitoring;
using InferenceServer.Protocols.Metrics;

namespace InferenceServer.UnitTests.Monitoring;

/// <summary>The exposition against the text format's rules.</summary>
public sealed class PrometheusTextWriterTests
{
    private static KeyValuePair<string, string>[] Labels(params (string Key, string Value)[] labels) =>
        labels.Select(l => new KeyValuePair<string, string>(l.Key, l.Value)).ToArray();

    private static string Write(params MetricFamilySnapshot[] families)
    {
        var text = new StringBuilder();
        PrometheusTextWriter.Write(text, families);
        return text.ToString();
    }

    [Fact]
    public void HelpAndTypeComeOncePerFamilyBeforeItsSamples()
    {
        var text = Write(
            new MetricFamilySnapshot("requests", "Requests served", MetricType.Counter,
                [new(Labels(("model", "a")), 3), new(Labels(("model", "b")), 4)]),
            new MetricFamilySnapshot("pending", "Waiting now", MetricType.Gauge, [new(Labels(), 2)]));

        Assert.Equal(
            "# HELP requests Requests served\n" +
            "# TYPE requests counter\n" +
            "requests{model=\"a\"} 3\n" +
            "requests{model=\"b\"} 4\n" +
            "# HELP pending Waiting now\n" +
            "# TYPE pending gauge\n" +
            "pending 2\n",
            text);
    }

    [Fact]
    public void LabelValuesEscapeBackslashQuoteAndNewlineAndHelpEscapesBackslashAndNewline()
    {
        var text = Write(new MetricFamilySnapshot("x", "a \\ b\nc \"d\"", MetricType.Gauge, [new(Labels(("model", "we\\ird\"na\nme")), 1)]));

        Assert.Equal(
            "# HELP x a \\\\ b\\nc \"d\"\n" +
            "# TYPE x gauge\n" +
            "x{model=\"we\\\\ird\\\"na\\nme\"} 1\n",
            text);
    }

    [Fact]
    public void HistogramBucketsAreCumulativeAndEndInInfWithConsistentSumAndCount()
    {
        var series = new MetricSeriesSnapshot(Labels(("model", "m")), 0) { Bounds = [1, 5, 10], BucketCounts = [2, 0, 3, 1], Sum = 42.5 };
        var text = Write(new MetricFamilySnapshot("latency_us", "Latency", MetricType.Histogram, [series]));

        Assert.Equal(
            "# HELP latency_us Latency\n" +
            "# TYPE latency_us histogram\n" +
            "latency_us_bucket{model=\"m\",le=\"1\"} 2\n" +
            "latency_us_bucket{model=\"m\",le=\"5\"} 2\n" +
            "latency_us_bucket{model=\"m\",le=\"10\"} 5\n" +
            "latency_us_bucket{model=\"m\",le=\"+Inf\"} 6\n" +
            "latency_us_sum{model=\"m\"} 42.5\n" +
            "latency_us_count{model=\"m\"} 6\n",
            text);
    }

    [Fact]
    public void AFamilyOrASeriesWrittenTwiceIsRefused()
    {
        var family = new MetricFamilySnapshot("x", "", MetricType.Counter, [new(Labels(("a", "1")), 1)]);
        Assert.Throws<InvalidOperationException>(() => Write(family, family));
        Assert.Throws<InvalidOperationException>(() => Write(new MetricFamilySnapshot("y", "", MetricType.Counter,
            [new(Labels(("a", "1")), 1), new(Labels(("a", "1")), 2)])));
    }

    [Fact]
    public void EmptyFamiliesAreLeftOutAndBadNamesAreMadeValid()
    {
        var text = Write(
            new MetricFamilySnapshot("empty", "nothing yet", MetricType.Counter, []),
            new MetricFamilySnapshot("http.server-requests", "", MetricType.Counter, [new(Labels(("1st.label", "v")), 1)]));
        Assert.Equal("# TYPE http_server_requests counter\nhttp_server_requests{_1st_label=\"v\"} 1\n", text);
    }

    [Theory]
    [InlineData(0.0, "0")]
    [InlineData(3.0, "3")]
    [InlineData(0.1, "0.1")]
    [InlineData(1e21, "1E+21")]
    [InlineData(double.PositiveInfinity, "+Inf")]
    [InlineData(double.NegativeInfinity, "-Inf")]
    [InlineData(double.NaN, "NaN")]
    public void ValuesAreWrittenAsPrometheusReadsThem(double value, string expected) =>
        Assert.Equal(expected, PrometheusTextWriter.FormatValue(value));

    [Fact]
    public void TheSameTagsInAnotherOrderAreOneSeries()
    {
        using var factory = new TestMeterFactory();
        using var collector = new MetricsCollector(factory);
        var counter = factory.Create(InferenceMetrics.MeterName).CreateCounter<long>("hits");
        counter.Add(1, new KeyValuePair<string, object?>("model", "m"), new KeyValuePair<string, object?>("version", "1"));
        counter.Add(2, new KeyValuePair<string, object?>("version", "1"), new KeyValuePair<string, object?>("model", "m"));
        counter.Add(4, new KeyValuePair<string, object?>("version", 1), new KeyValuePair<string, object?>("model", "m"));
        counter.Add(8, new KeyValuePair<string, object?>("model", "n"), new KeyValuePair<string, object?>("version", "1"));

        var family = Assert.Single(collector.Collect());
        Assert.Equal(2, family.Series.Count);
        Assert.Equal(7, family.Series[0].Value);
        Assert.Equal(Labels(("model", "m"), ("version", "1")), family.Series[0].Labels);
        Assert.Equal(8, family.Series[1].Value);
    }

    [Fact]
    public void OnlyThisServersMeterIsHeard()
    {
        using var ours = new TestMeterFactory();
        using var theirs = new TestMeterFactory();
        using var collector = new MetricsCollector(ours);
        ours.Create(InferenceMetrics.MeterName).CreateCounter<long>("ours").Add(1);
        theirs.Create(InferenceMetrics.MeterName).CreateCounter<long>("theirs").Add(1);
        ours.Create("SomethingElse").CreateCounter<long>("other").Add(1);

        Assert.Equal(["ours"], collector.Collect().Select(f => f.Name));
    }

    [Fact]
    public void HistogramsUseTheInstrumentsBucketAdvice()
    {
        using var factory = new TestMeterFactory();
        using var collector = new MetricsCollector(factory);
        var histogram = factory.Create(InferenceMetrics.MeterName).CreateHistogram("size", unit: null, description: null, tags: null,
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 2, 4] });
        foreach (var value in new long[] { 1, 2, 3, 4, 5, 100 })
        {
            histogram.Record(value);
        }

        var series = Assert.Single(Assert.Single(collector.Collect()).Series);
        Assert.Equal([1.0, 2, 4], series.Bounds!);
        Assert.Equal([1L, 1, 2, 2], series.BucketCounts!);
        Assert.Equal(115, series.Sum);
    }
}
