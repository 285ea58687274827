using InferenceServer.Core.Repository;

namespace InferenceServer.Core.Lifecycle;

/// <summary>
/// Poll mode's completion rule: decides, scan after scan, which model folders changed in a way the
/// server should act on, and never hands over a version folder that is still being written.
/// </summary>
/// <remarks>
/// <para>A version folder is <b>complete</b> when it holds at least one file and its
/// <see cref="FolderSignature"/> (every file's relative path, size and last-write time) has stayed
/// the same for at least the quiet interval, as seen by two scans at least that far apart. A copy
/// that is still writing changes sizes or times between scans; a folder whose last write is older
/// than the quiet interval is taken as finished. With a completion marker configured, a version
/// folder is complete exactly when it holds a file of that name (write it last), whatever its age.</para>
/// <para>config.pbtxt, routing.pbtxt and features.pbtxt must likewise be unchanged for the quiet interval before a model is acted on.
/// A version folder that is not complete does not exist as far as loading goes: a new one is not
/// loaded yet, and one that was loaded and is now being rewritten keeps serving as it was until the
/// rewrite is complete.</para>
/// <para>A change is reported once: if loading it fails, the tracker does not retry until the
/// folder changes again. A change of routing.pbtxt or features.pbtxt alone is reported as such
/// (<see cref="RepositoryChange.ModelChanged"/> false), so the lifecycle reads the route again without touching the
/// model's versions; a folder holding a routing.pbtxt and no version folder is a route, reported once its file is
/// complete.</para>
/// </remarks>
internal sealed class RepositoryChangeTracker
{
    private readonly TimeProvider _time;
    private readonly long _quietTicks;
    private readonly string _marker;
    private readonly Dictionary<string, ModelTrack> _models = new(StringComparer.Ordinal);
    // When the last scan looked: what was due by then was acted on, so only later due times call for another scan.
    private long _lastObserved;

    /// <summary>Creates a tracker with the given quiet interval and optional completion marker file name (empty: none).</summary>
    public RepositoryChangeTracker(TimeProvider timeProvider, TimeSpan quietInterval, string marker = "")
    {
        _time = timeProvider;
        _quietTicks = (long)(quietInterval.TotalSeconds * timeProvider.TimestampFrequency);
        _marker = marker;
    }

    /// <summary>
    /// Records what the startup load used: every folder of <paramref name="scan"/> counts as applied
    /// as it is now, so only later changes are reported.
    /// </summary>
    public void Baseline(IReadOnlyList<ModelFolderState> scan)
    {
        // What the startup load used counts as settled: only a later change has to wait out the quiet interval.
        _lastObserved = _time.GetTimestamp();
        var now = _lastObserved - _quietTicks;
        _models.Clear();
        foreach (var model in scan)
        {
            var track = new ModelTrack(model.Path, new Seen(model.ConfigSignature, now), new Seen(model.RouteSignature, now), new Seen(model.FeaturesSignature, now));
            foreach (var (number, version) in model.Versions)
            {
                track.Versions[number] = new Seen(version.Signature, now);
                if (version.Signature.Length > 0)
                {
                    track.Applied[number] = version.Signature;
                }
            }
            track.AppliedConfig = model.ConfigSignature;
            track.AppliedRoute = model.RouteSignature;
            track.AppliedFeatures = model.FeaturesSignature;
            track.EverApplied = true;
            _models[model.Name] = track;
        }
    }

    /// <summary>
    /// Takes one scan of the repository and returns the models to act on: a model whose complete
    /// view (its config and its complete version folders) or whose routing.pbtxt differs from what was last
    /// handed over, or that disappeared (<see cref="RepositoryChange.Directory"/> null).
    /// </summary>
    public IReadOnlyList<RepositoryChange> Observe(IReadOnlyList<ModelFolderState> scan)
    {
        var now = _time.GetTimestamp();
        _lastObserved = now;
        var changes = new List<RepositoryChange>();
        var present = new HashSet<string>(StringComparer.Ordinal);
        foreach (var model in scan)
        {
            present.Add(model.Name);
            if (!_models.TryGetValue(model.Name, out var track))
            {
                track = new ModelTrack(model.Path, new Seen(model.ConfigSignature, now), new Seen(model.RouteSignature, now), new Seen(model.FeaturesSignature, now));
                _models[model.Name] = track;
            }
            track.Path = model.Path;
            track.Config = Update(track.Config, model.ConfigSignature, now);
            track.Route = Update(track.Route, model.RouteSignature, now);
            track.Features = Update(track.Features, model.FeaturesSignature, now);

            foreach (var number in track.Versions.Keys.Where(n => !model.Versions.ContainsKey(n)).ToList())
            {
                track.Versions.Remove(number);
            }
            var view = new SortedDictionary<long, string>();
            var paths = new Dictionary<long, string>();
            foreach (var (number, version) in model.Versions)
            {
                var seen = track.Versions[number] = Update(track.Versions.GetValueOrDefault(number), version.Signature, now);
                paths[number] = version.Path;
                if (IsComplete(version, seen, now))
                {
                    view[number] = version.Signature;
                }
                else if (track.Applied.TryGetValue(number, out var applied))
                {
                    // Being rewritten: it serves as it was until the rewrite is complete.
                    view[number] = applied;
                }
            }

            if (!IsStable(track.Config, now) || !IsStable(track.Route, now) || !IsStable(track.Features, now))
            {
                continue;
            }
            if (!track.EverApplied && view.Count == 0 && (model.Versions.Count > 0 || (track.Route.Signature.Length == 0 && track.AppliedRoute.Length == 0)))
            {
                // A new model folder with nothing complete in it yet: nothing to load (its route waits for it too, so
                // it is not read as a route of other models meanwhile). A folder of a route alone has its file to hand over.
                continue;
            }
            var modelChanged = track.EverApplied ? track.AppliedConfig != track.Config.Signature || !SameView(track.Applied, view) : view.Count > 0;
            if (!modelChanged && track.AppliedRoute == track.Route.Signature && track.AppliedFeatures == track.Features.Signature)
            {
                continue;
            }
            if (modelChanged)
            {
                track.Applied = view;
                track.AppliedConfig = track.Config.Signature;
                track.EverApplied = true;
            }
            track.AppliedRoute = track.Route.Signature;
            track.AppliedFeatures = track.Features.Signature;
            var configPath = Path.Combine(model.Path, ModelRepositoryScanner.ConfigFileName);
            var versions = view.Keys.ToDictionary(n => n, n => paths[n]);
            var directory = new ModelDirectory(model.Name, model.Path, model.ConfigSignature.Length > 0 ? configPath : null, new SortedDictionary<long, string>(versions))
            {
                RoutePath = model.RouteSignature.Length > 0 ? Path.Combine(model.Path, ModelRepositoryScanner.RouteFileName) : null,
                FeaturesPath = model.FeaturesSignature.Length > 0 ? Path.Combine(model.Path, ModelRepositoryScanner.FeaturesFileName) : null,
            };
            changes.Add(new RepositoryChange(model.Name, directory, new Dictionary<long, string>(view), modelChanged));
        }
        foreach (var name in _models.Keys.Where(n => !present.Contains(n)).ToList())
        {
            var track = _models[name];
            _models.Remove(name);
            if (track.EverApplied || track.AppliedRoute.Length > 0)
            {
                changes.Add(new RepositoryChange(name, null, new Dictionary<long, string>()));
            }
        }
        return changes;
    }

    /// <summary>
    /// How long until a folder seen changing could be complete, so the poller scans again then
    /// rather than waiting for the next periodic rescan; null when nothing is pending.
    /// </summary>
    public TimeSpan? NextCheck()
    {
        var now = _time.GetTimestamp();
        long? earliest = null;
        foreach (var track in _models.Values)
        {
            Consider(track.Config, track.Config.Signature != track.AppliedConfig, byMarker: false);
            Consider(track.Route, track.Route.Signature != track.AppliedRoute, byMarker: false);
            Consider(track.Features, track.Features.Signature != track.AppliedFeatures, byMarker: false);
            foreach (var (number, seen) in track.Versions)
            {
                Consider(seen, seen.Signature.Length > 0 && (!track.Applied.TryGetValue(number, out var applied) || applied != seen.Signature), byMarker: _marker.Length > 0);
            }
        }
        return earliest is { } due ? TimeSpan.FromSeconds(Math.Max(0, due - now) / (double)_time.TimestampFrequency) : null;

        // A folder completed by a marker is seen at the next scan; the file-system events trigger one. What was due by the
        // last scan was judged then: scanning again for it would only spin (a config with no version folder yet).
        void Consider(Seen seen, bool pending, bool byMarker)
        {
            var due = seen.Since + _quietTicks;
            if (pending && !byMarker && due > _lastObserved)
            {
                earliest = earliest is null ? due : Math.Min(earliest.Value, due);
            }
        }
    }

    private bool IsComplete(VersionFolderState version, Seen seen, long now)
    {
        if (version.Signature.Length == 0)
        {
            return false;
        }
        return _marker.Length > 0 ? version.HasMarker : IsStable(seen, now);
    }

    private bool IsStable(Seen seen, long now) => now - seen.Since >= _quietTicks;

    private static Seen Update(Seen? previous, string signature, long now) =>
        previous is not null && previous.Signature == signature ? previous : new Seen(signature, now);

    private static bool SameView(SortedDictionary<long, string> applied, SortedDictionary<long, string> view) =>
        applied.Count == view.Count && applied.All(p => view.TryGetValue(p.Key, out var s) && s == p.Value);

    // A signature and the time it was first seen with this value.
    private sealed record Seen(string Signature, long Since);

    private sealed class ModelTrack(string path, Seen config, Seen route, Seen features)
    {
        public string Path { get; set; } = path;

        public Seen Config { get; set; } = config;

        public Seen Route { get; set; } = route;

        public Seen Features { get; set; } = features;

        public Dictionary<long, Seen> Versions { get; } = [];

        /// <summary>The complete view last handed over: version → signature.</summary>
        public SortedDictionary<long, string> Applied { get; set; } = [];

        public string AppliedConfig { get; set; } = "";

        /// <summary>routing.pbtxt's signature when last handed over; empty: none (or never handed over).</summary>
        public string AppliedRoute { get; set; } = "";

        /// <summary>features.pbtxt's signature when last handed over; empty: none (or never handed over).</summary>
        public string AppliedFeatures { get; set; } = "";

        public bool EverApplied { get; set; }
    }
}
