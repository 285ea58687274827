using InferenceServer.Core.Backends;
using InferenceServer.Core.Repository;

namespace InferenceServer.Core.Models;

/// <summary>
/// The instances of one loaded version by instance group, and how to make more of them, so that a
/// config change of only <c>instance_group</c> counts can grow or shrink the version in place.
/// Changed only under the lifecycle's per-model lock.
/// </summary>
internal sealed class VersionInstances
{
    private readonly IModelBackend _backend;
    private readonly string _modelPath;
    private readonly IReadOnlyDictionary<string, string> _parameters;
    private readonly int? _graphLevel;
    private readonly List<List<IModelInstance>> _byGroup;

    public VersionInstances(IModelBackend backend, string modelPath, IReadOnlyDictionary<string, string> parameters, int? graphLevel,
        IReadOnlyList<ModelInstanceGroup> groups, List<List<IModelInstance>> byGroup)
    {
        _backend = backend;
        _modelPath = modelPath;
        _parameters = parameters;
        _graphLevel = graphLevel;
        Groups = groups;
        _byGroup = byGroup;
    }

    /// <summary>The groups as the config gives them (one default group when it gives none).</summary>
    public IReadOnlyList<ModelInstanceGroup> Groups { get; private set; }

    /// <summary>Where new instances' warm-up reads its data files; a version built without one warms up without files.</summary>
    public WarmupSources? Warmup { get; init; }

    /// <summary>The inputs and outputs the config declares, for new instances of a backend that needs them.</summary>
    public ModelSignature Declared { get; init; } = new([], []);

    /// <summary>Where new instances' model file lives.</summary>
    public string ModelPath => _modelPath;

    /// <summary>Whether the backend's string tensors hold UTF-8 text (<see cref="IModelBackend.TextStrings"/>).</summary>
    public bool TextStrings => _backend.TextStrings;

    public int Count => _byGroup.Sum(g => g.Count);

    /// <summary>What the instances report holding, summed; read when the version is built, before any resize can run.</summary>
    public long MemoryBytes()
    {
        long total = 0;
        foreach (var group in _byGroup)
        {
            foreach (var instance in group)
            {
                total += instance.MemoryBytes;
            }
        }
        return total;
    }

    /// <summary>The groups a config gives, or the one default group when it gives none.</summary>
    public static IReadOnlyList<ModelInstanceGroup> Effective(ModelConfig config) => config.EffectiveInstanceGroups();

    /// <summary>
    /// True when <paramref name="groups"/> differ from the current ones only in CPU groups' counts:
    /// then the change is made by adding or removing instances. GPU groups place instances per device
    /// and are reloaded instead.
    /// </summary>
    public bool CanResizeTo(IReadOnlyList<ModelInstanceGroup> groups)
    {
        if (groups.Count != Groups.Count)
        {
            return false;
        }
        for (var i = 0; i < groups.Count; i++)
        {
            var (now, next) = (Groups[i], groups[i]);
            if (now.Name != next.Name || now.Kind != next.Kind || !now.Gpus.SequenceEqual(next.Gpus)
                || (now.Count != next.Count && now.Kind == ModelInstanceGroup.Types.Kind.Gpu) || next.Count < 1)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Creates one instance of group <paramref name="group"/> (not yet counted in it).</summary>
    public IModelInstance Create(int group) =>
        _backend.CreateInstance(new InstanceOptions(_modelPath, Groups[group].Kind.ToInstanceKind(), 0, _parameters) { GraphOptimizationLevel = _graphLevel, Declared = Declared });

    public IReadOnlyList<IModelInstance> InGroup(int group) => _byGroup[group];

    public void Added(int group, IModelInstance instance) => _byGroup[group].Add(instance);

    public void Removed(int group, IModelInstance instance) => _byGroup[group].Remove(instance);

    /// <summary>Records the new group list once a resize is done.</summary>
    public void Resized(IReadOnlyList<ModelInstanceGroup> groups) => Groups = groups;
}
