using System.Globalization;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Models;

namespace InferenceServer.Core.Routing;

/// <summary>
/// One model's entry in the route table: the versions a request to it may be routed to, built once per registry
/// snapshot that changes the model. The lookups every policy shares live here, so a version that does not exist or
/// does not serve is refused with the same words whatever the policy.
/// </summary>
public sealed class ModelRoute
{
    private readonly ModelTarget[] _ready;
    private readonly string _noReadyVersion;

    internal ModelRoute(ModelEntry entry)
    {
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

    /// <summary>The model's name.</summary>
    public string Name => Entry.Name;

    /// <summary>The READY versions in ascending order, as model metadata lists them.</summary>
    public IReadOnlyList<string> ReadyVersions { get; }

    /// <summary>The registry entry the route was built from; a route is rebuilt only when its entry changes.</summary>
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
