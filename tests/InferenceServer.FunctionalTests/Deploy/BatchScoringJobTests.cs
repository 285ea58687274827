using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace InferenceServer.FunctionalTests.Deploy;

/// <summary>
/// deploy/batch-scoring, rendered as a user would apply it (<c>kubectl kustomize</c>; no cluster here, so nothing
/// runs): an Indexed Job whose N pods each score shard <c>$(JOB_COMPLETION_INDEX)/N</c> with <c>--resume</c> into a
/// folder of their own on the shared volume, N and the image set once in the kustomization, every <c>$(VAR)</c> the
/// command uses defined, and failures retried per shard except those a retry cannot fix.
/// </summary>
public sealed partial class BatchScoringJobTests : IDisposable
{
    private static readonly string Base = Path.Combine(RepositoryPaths.Root, "deploy", "batch-scoring");

    private readonly string _overlay = Directory.CreateTempSubdirectory("batch-scoring-overlay-").FullName;

    [KubectlFact]
    public async Task TheKustomizationRendersAnIndexedJobWhoseShardsUseTheIndexAndTheSameN()
    {
        var rendered = Load(await Kubectl.KustomizeAsync(Base));

        var job = Single(rendered, "Job");
        var n = AssertJob(rendered, expectedImage: null);
        Assert.True(n > 1, $"the sample kustomization runs {n} shard(s); expected several, to show the split");

        // The claim the pods mount comes with it, shared by every pod (ReadWriteMany).
        var claim = Single(rendered, "PersistentVolumeClaim");
        var claimName = Text(claim, "metadata", "name");
        var volume = Assert.Single(Sequence(PodSpec(job), "volumes").Cast<YamlMappingNode>());
        Assert.Equal(claimName, Text(volume, "persistentVolumeClaim", "claimName"));
        Assert.Contains("ReadWriteMany", Sequence(claim, "spec", "accessModes").Select(s => ((YamlScalarNode)s).Value));

        // Every $(VAR) in the command is Kubernetes' index or a setting of the ConfigMap the pods read.
        var settings = Single(rendered, "ConfigMap");
        var defined = Mapping(settings, "data").Children.Keys.Select(k => ((YamlScalarNode)k).Value!).ToHashSet();
        var container = Container(job);
        Assert.Equal(Text(settings, "metadata", "name"), Text((YamlMappingNode)Sequence(container, "envFrom")[0], "configMapRef", "name"));
        foreach (var arg in Args(container))
        {
            foreach (Match reference in Reference().Matches(arg))
            {
                var name = reference.Groups[1].Value;
                Assert.True(name == "JOB_COMPLETION_INDEX" || defined.Contains(name), $"the argument '{arg}' uses $({name}), which nothing defines");
            }
        }
    }

    [KubectlFact]
    public async Task AnOverlaySettingNAndTheImageAsTheReadmeSaysChangesEveryPlaceTheyAreUsed()
    {
        var relative = Path.GetRelativePath(_overlay, Base);
        File.WriteAllText(Path.Combine(_overlay, "kustomization.yaml"), $"""
            apiVersion: kustomize.config.k8s.io/v1beta1
            kind: Kustomization
            resources:
              - {relative}
            images:
              - name: ghcr.io/example/inference-server
                newName: registry.internal:5000/scoring/inference-server
                newTag: "1.4.2"
            patches:
              - target:
                  kind: Job
                  name: batch-scoring
                patch: |-
                  - op: replace
                    path: /spec/completions
                    value: 12
                  - op: replace
                    path: /spec/parallelism
                    value: 5
            # kustomize runs the base's replacements before this file's patches, so an overlay that changes N copies
            # it into --shard again (README.md: "Overlays").
            replacements:
              - source:
                  kind: Job
                  name: batch-scoring
                  fieldPath: spec.completions
                targets:
                  - select:
                      kind: Job
                      name: batch-scoring
                    fieldPaths:
                      - spec.template.spec.containers.[name=score].args.1
                    options:
                      delimiter: /
                      index: 1
            """);

        var rendered = Load(await Kubectl.KustomizeAsync(_overlay));
        var job = Single(rendered, "Job");

        // N reaches the pods' --shard.
        Assert.Equal(12, AssertJob(rendered, expectedImage: "registry.internal:5000/scoring/inference-server:1.4.2"));
        Assert.Equal("5", Text(job, "spec", "parallelism"));
    }

    /// <summary>What every rendering must hold; returns N.</summary>
    private static int AssertJob(List<YamlMappingNode> rendered, string? expectedImage)
    {
        var job = Single(rendered, "Job");
        var settings = Single(rendered, "ConfigMap");
        Assert.Equal("batch/v1", Text(job, "apiVersion"));
        Assert.Equal("Indexed", Text(job, "spec", "completionMode"));
        var n = int.Parse(Text(job, "spec", "completions"), System.Globalization.CultureInfo.InvariantCulture);
        var parallelism = int.Parse(Text(job, "spec", "parallelism"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(parallelism, 1, n);

        var container = Container(job);
        var command = Sequence(container, "command").Select(s => ((YamlScalarNode)s).Value!).ToArray();
        var args = Args(container);
        string[] all = [.. command, .. args];
        Assert.Equal("score", command[^1]);

        // --shard i/N: the pod's index and the Job's own N, so the pods cover the shards 0..N-1 exactly once.
        var shard = Value(all, "--shard");
        Assert.Equal($"$(JOB_COMPLETION_INDEX)/{n}", shard);
        // A replacement pod continues its shard from the last committed chunk.
        Assert.Contains("--resume", all);
        // Each shard writes a folder of its own, so no two pods write the same files.
        Assert.Contains("$(JOB_COMPLETION_INDEX)", Value(all, "--output"), StringComparison.Ordinal);
        Assert.NotNull(Value(all, "--memory-limit"));
        // The input and the output folders are on the shared volume.
        var mounts = Sequence(container, "volumeMounts").Cast<YamlMappingNode>().Select(m => Text(m, "mountPath") + "/").ToArray();
        foreach (var setting in new[] { "INPUT", "OUTPUT" })
        {
            var path = Text(Mapping(settings, "data"), setting);
            Assert.True(mounts.Any(m => path.StartsWith(m, StringComparison.Ordinal)), $"{setting}={path} is not on a mounted volume ({string.Join(", ", mounts)})");
        }

        var image = Text(container, "image");
        if (expectedImage is not null)
        {
            Assert.Equal(expectedImage, image);
        }
        Assert.Contains(':', image);

        // Resources: CPU asked for, memory bounded.
        Assert.False(string.IsNullOrEmpty(Text(container, "resources", "requests", "cpu")));
        Assert.False(string.IsNullOrEmpty(Text(container, "resources", "limits", "memory")));

        // A failed pod is replaced per shard (and resumes); a usage error or too many bad rows is not retried.
        Assert.Equal("Never", Text(PodSpec(job), "restartPolicy"));
        Assert.True(int.Parse(Text(job, "spec", "backoffLimitPerIndex"), System.Globalization.CultureInfo.InvariantCulture) > 0);
        var failIndex = Sequence(job, "spec", "podFailurePolicy", "rules").Cast<YamlMappingNode>().Single(r => Text(r, "action") == "FailIndex");
        Assert.Equal(["2", "3"], Sequence(failIndex, "onExitCodes", "values").Select(v => ((YamlScalarNode)v).Value!).Order());
        return n;
    }

    private static string Value(string[] args, string flag)
    {
        var at = Array.IndexOf(args, flag);
        Assert.True(at >= 0 && at + 1 < args.Length, $"no {flag} VALUE in: {string.Join(' ', args)}");
        return args[at + 1];
    }

    private static List<YamlMappingNode> Load(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return [.. stream.Documents.Select(d => (YamlMappingNode)d.RootNode)];
    }

    private static YamlMappingNode Single(List<YamlMappingNode> documents, string kind) =>
        Assert.Single(documents, d => Text(d, "kind") == kind);

    private static YamlMappingNode PodSpec(YamlMappingNode job) => Mapping(job, "spec", "template", "spec");

    private static YamlMappingNode Container(YamlMappingNode job) =>
        Assert.Single(Sequence(PodSpec(job), "containers").Cast<YamlMappingNode>());

    private static string[] Args(YamlMappingNode container) => [.. Sequence(container, "args").Select(s => ((YamlScalarNode)s).Value!)];

    private static YamlNode Node(YamlMappingNode node, params string[] path)
    {
        YamlNode current = node;
        foreach (var key in path)
        {
            var mapping = Assert.IsType<YamlMappingNode>(current);
            Assert.True(mapping.Children.TryGetValue(new YamlScalarNode(key), out var child), $"no '{key}' in {string.Join('.', path)}");
            current = child;
        }
        return current;
    }

    private static string Text(YamlMappingNode node, params string[] path) => Assert.IsType<YamlScalarNode>(Node(node, path)).Value ?? "";

    private static YamlMappingNode Mapping(YamlMappingNode node, params string[] path) => Assert.IsType<YamlMappingNode>(Node(node, path));

    private static YamlSequenceNode Sequence(YamlMappingNode node, params string[] path) => Assert.IsType<YamlSequenceNode>(Node(node, path));

    [GeneratedRegex(@"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")]
    private static partial Regex Reference();

    public void Dispose() => Directory.Delete(_overlay, recursive: true);
}
