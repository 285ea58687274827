using System.Globalization;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Models;

namespace InferenceServer.Core.Routing;

/// <summary>
/// One name's entry in the route table: the versions a request to it may be routed to, built once per registry
/// snapshot that changes the model. The lookups every policy shares live here, so a version that does not exist or
/// does not serve is refused with the same words whatever the policy. A name with a declared route also carries its
/// <see cref="Traffic"/>: beside a model, the entry is the model's own with the route's variants; alone, it is named
/// after the route and its versions are the primary variant's model's (what metadata and a named version refer to).
/// </summary>
public sealed class ModelRoute
{
    private readonly ModelTarget[] _ready;
    private readonly string _noReadyVersion;

    /// <summary>A model's entry, routed as the policy says (no declared route).</summary>
    internal ModelRoute(ModelEntry entry)
        : this(entry.Name, entry)
    {
    }

    /// <summary>
    /// The entry of route <paramref name="runtime"/> under the name clients address, over <paramref name="entry"/>
    /// (the model it is declared beside, or the primary variant's model), with its variants resolved against
    /// <paramref name="models"/>, the table's models.
    /// </summary>
    internal ModelRoute(ModelEntry entry, RouteRuntime runtime, IReadOnlyDictionary<string, ModelRoute> models)
        : this(runtime.Name, entry)
    {
        Traffic = new TrafficRoute(this, runtime, models);
    }

    private ModelRoute(string name, ModelEntry entry)
    {
        Name = name;
        Entry = entry;
        var ready = new List<ModelTarget>(entry.Versions.Count);
        foreach (var version in entry.Versions.Values)
        {
            if (version.State == ModelState.Ready)
            {
                ready.Add(new ModelTarget(this, version));
            }
        }
        ready.Sort(static (a, b) => a.Serving.Version.CompareTo(b.Serving.Version));
        _ready = [.. ready];
        var texts = new string[_ready.Length];
        for (var i = 0; i < texts.Length; i++)
        {
            texts[i] = _ready[i].Version;
        }
        ReadyVersions = texts;
        _noReadyVersion = entry.Reason.Length > 0 || _ready.Length > 0 ? entry.Reason : DescribeFailures(entry);
    }

    /// <summary>The name requests address: the model's, or the route's.</summary>
    public string Name { get; }

    /// <summary>True when the name has a declared route: requests are spread over its variants.</summary>
    public bool RoutesTraffic => Traffic is not null;

    /// <summary>The declared route's variants and choice; null for a model without one.</summary>
    internal TrafficRoute? Traffic { get; }

    /// <summary>The READY versions in ascending order, as model metadata lists them.</summary>
    public IReadOnlyList<string> ReadyVersions { get; }

    /// <summary>The registry entry the route was built from; a model's route is rebuilt only when its entry changes.</summary>
    internal ModelEntry Entry { get; }

    /// <summary>The READY versions' targets in ascending version order, for policies that spread requests over them.</summary>
    internal IReadOnlyList<ModelTarget> Ready => _ready;

    /// <summary>The highest-numbered READY version, which the version policy chose to serve; Unavailable when there is none.</summary>
    internal ModelTarget NewestReady() => _ready.Length > 0
        ? _ready[^1]
        : throw new InferenceException(InferenceErrorKind.Unavailable, $"model '{Name}' has no ready version: {_noReadyVersion}");

    /// <summary>The version a request names: NotFound when the model has no such version, Unavailable when it does not serve.</summary>
    internal ModelTarget NamedVersion(string version)
    {
        if (!long.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || !Entry.Versions.TryGetValue(number, out var found))
        {
            throw new InferenceException(InferenceErrorKind.NotFound, $"unknown version '{version}' of model '{Name}'");
        }
        foreach (var target in _ready)
        {
            if (ReferenceEquals(target.Serving, found))
            {
                return target;
            }
        }
        throw new InferenceException(InferenceErrorKind.Unavailable, $"model '{Name}' version {version} is not ready: {found.Reason}");
    }

    private static string DescribeFailures(ModelEntry entry)
    {
        var failures = new List<string>(entry.Versions.Count);
        foreach (var version in entry.Versions.Values)
        {
            failures.Add($"version {version.VersionText}: {version.Reason}");
        }
        return string.Join("; ", failures);
    }
}
