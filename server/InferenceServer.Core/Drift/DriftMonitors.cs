using System.Collections.Concurrent;
using InferenceServer.Core.Features;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace InferenceServer.Core.Drift;

/// <summary>
/// The server's drift monitoring: makes each loading version's <see cref="DriftMonitor"/> from the training profile
/// beside it, and exports every live monitor's report as gauges before each scrape:
/// <c>feature_drift_psi</c> and <c>feature_drift_ks</c> by model, version and feature, <c>prediction_drift_psi</c> and
/// <c>prediction_drift_ks</c> by model, version and output, and <c>drift_window_rows</c> by model and version.
/// </summary>
public sealed partial class DriftMonitors
{
    private static readonly string[] FeatureLabels = ["model", "version", "feature"];
    private static readonly string[] OutputLabels = ["model", "version", "output"];

    private readonly ConcurrentDictionary<DriftMonitor, byte> _live = new();
    private readonly Lock _gaugeLock = new();
    private readonly ILogger _logger;
    private readonly Gauge _featurePsi;
    private readonly Gauge _featureKs;
    private readonly Gauge _predictionPsi;
    private readonly Gauge _predictionKs;
    private readonly Gauge _rows;

    /// <summary>Monitoring as <paramref name="options"/> say, exported into <paramref name="registry"/> (the server's own).</summary>
    public DriftMonitors(DriftOptions options, CollectorRegistry registry, ILogger<DriftMonitors>? logger = null)
    {
        Options = options;
        _logger = (ILogger?)logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        var factory = Metrics.WithCustomRegistry(registry);
        factory.ExemplarBehavior = ExemplarBehavior.NoExemplars();
        _featurePsi = factory.CreateGauge("feature_drift_psi",
            "Population Stability Index of each profiled input feature's live window against its training profile (< 0.1 none, 0.1-0.2 moderate, > 0.2 significant)",
            new GaugeConfiguration { LabelNames = FeatureLabels });
        _featureKs = factory.CreateGauge("feature_drift_ks",
            "Kolmogorov-Smirnov statistic of each numeric input feature's live window against its training profile",
            new GaugeConfiguration { LabelNames = FeatureLabels });
        _predictionPsi = factory.CreateGauge("prediction_drift_psi",
            "Population Stability Index of each prediction output's live window against its training profile",
            new GaugeConfiguration { LabelNames = OutputLabels });
        _predictionKs = factory.CreateGauge("prediction_drift_ks",
            "Kolmogorov-Smirnov statistic of each prediction output's live window against its training profile",
            new GaugeConfiguration { LabelNames = OutputLabels });
        _rows = factory.CreateGauge("drift_window_rows", "Rows sampled into the drift window of each monitored model version so far",
            new GaugeConfiguration { LabelNames = ["model", "version"] });
        registry.AddBeforeCollectCallback(Update);
    }

    /// <summary>The settings.</summary>
    public DriftOptions Options { get; }

    /// <summary>True when the feature stage should draw whether to keep a predict request's raw rows.</summary>
    internal bool DrawRawRows() => Options.Enabled && DriftMonitor.Draw(Options.SampleRate);

    /// <summary>
    /// The monitor of a loading version: null, with the reason in <paramref name="problem"/>, when monitoring is off, the
    /// version has no profile (<c>profile.json</c> in its folder or its model's), or the profile cannot be used.
    /// </summary>
    internal DriftMonitor? Create(string model, long version, string modelPath, string versionPath, FeatureView? view, bool batched, out string problem)
    {
        var versionText = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (!Options.Enabled)
        {
            problem = "drift monitoring is off on this server (--drift-monitoring false)";
            return null;
        }
        if (TrainingProfile.Find(modelPath, versionPath) is not { } path)
        {
            problem = $"model '{model}' version {versionText} has no training profile: write one with 'inference-server profile --model-repository REPO --model {model} --from FILE' "
                + $"(it goes to {model}/{TrainingProfile.FileName}) and load the model again";
            return null;
        }
        var shown = model + "/" + Path.GetRelativePath(modelPath, path).Replace('\\', '/');
        try
        {
            var plan = DriftPlan.Compile(TrainingProfile.Read(path), shown, view);
            problem = "";
            var monitor = new DriftMonitor(model, versionText, plan, Options, batched);
            _live[monitor] = 0;
            return monitor;
        }
        catch (Exception e) when (e is FormatException or IOException or UnauthorizedAccessException)
        {
            // The server path is not shown to clients: the message names the file from the model folder.
            problem = $"the training profile of model '{model}' version {versionText} cannot be used: {e.Message.Replace(path, shown, StringComparison.Ordinal)}";
            LogUnusableProfile(model, versionText, problem);
            return null;
        }
    }

    /// <summary>The version retired: its gauges go at the next scrape.</summary>
    internal void Retired(DriftMonitor monitor) => _live.TryRemove(monitor, out _);

    // Runs before every scrape: each live window is compared with its profile; series of versions gone are removed.
    private void Update()
    {
        lock (_gaugeLock)
        {
            var features = new HashSet<(string, string, string)>();
            var outputs = new HashSet<(string, string, string)>();
            var versions = new HashSet<(string, string, string)>();
            foreach (var monitor in _live.Keys)
            {
                var report = monitor.Report();
                versions.Add((report.Model, report.Version, ""));
                _rows.WithLabels(report.Model, report.Version).Set(report.RowsSampled);
                Publish(report, report.Features, _featurePsi, _featureKs, features);
                Publish(report, report.Predictions, _predictionPsi, _predictionKs, outputs);
            }
            RemoveGone(_featurePsi, features);
            RemoveGone(_featureKs, features);
            RemoveGone(_predictionPsi, outputs);
            RemoveGone(_predictionKs, outputs);
            foreach (var labels in _rows.GetAllLabelValues())
            {
                if (!versions.Contains((labels[0], labels[1], "")))
                {
                    _rows.RemoveLabelled(labels);
                }
            }
        }
    }

    private static void Publish(DriftReport report, IReadOnlyList<FeatureDrift> drifts, Gauge psi, Gauge ks, HashSet<(string, string, string)> live)
    {
        foreach (var drift in drifts)
        {
            // A feature without samples has no value yet: its series is absent rather than a misleading 0.
            if (drift.Psi is not { } value)
            {
                continue;
            }
            live.Add((report.Model, report.Version, drift.Name));
            psi.WithLabels(report.Model, report.Version, drift.Name).Set(value);
            if (drift.Ks is { } statistic)
            {
                ks.WithLabels(report.Model, report.Version, drift.Name).Set(statistic);
            }
        }
    }

    private static void RemoveGone(Gauge gauge, HashSet<(string, string, string)> live)
    {
        foreach (var labels in gauge.GetAllLabelValues())
        {
            if (!live.Contains((labels[0], labels[1], labels[2])))
            {
                gauge.RemoveLabelled(labels);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Drift monitoring of '{Model}' version {Version} is off: {Problem}")]
    private partial void LogUnusableProfile(string model, string version, string problem);
}
