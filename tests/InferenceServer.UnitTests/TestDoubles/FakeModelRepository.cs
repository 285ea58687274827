using System.Globalization;

namespace InferenceServer.UnitTests.TestDoubles;

/// <summary>A model repository in a temporary folder, of models for <see cref="GatedBackend"/> ("fake" backend, model.fake files).</summary>
public sealed class FakeModelRepository : IDisposable
{
    /// <summary>One INT32 input and output of any length, batching up to 4.</summary>
    public const string Config = """
        backend: "fake"
        max_batch_size: 4
        input [ { name: "INPUT0" data_type: TYPE_INT32 dims: [ -1 ] } ]
        output [ { name: "OUTPUT0" data_type: TYPE_INT32 dims: [ -1 ] } ]
        """;

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "inference-server-tests", Guid.NewGuid().ToString("N"));

    /// <summary>Adds (or rewrites) model <paramref name="name"/> with <paramref name="config"/> and a model file in each version folder.</summary>
    public FakeModelRepository Add(string name, string config, params int[] versions)
    {
        Directory.CreateDirectory(System.IO.Path.Combine(Path, name));
        File.WriteAllText(System.IO.Path.Combine(Path, name, "config.pbtxt"), config);
        foreach (var version in versions)
        {
            var folder = System.IO.Path.Combine(Path, name, version.ToString(CultureInfo.InvariantCulture));
            Directory.CreateDirectory(folder);
            File.WriteAllText(System.IO.Path.Combine(folder, "model.fake"), "weights");
        }
        return this;
    }

    /// <summary>Writes (or rewrites) <c>routing.pbtxt</c> in folder <paramref name="name"/>, creating the folder if need be.</summary>
    public FakeModelRepository AddRoute(string name, string routing)
    {
        Directory.CreateDirectory(System.IO.Path.Combine(Path, name));
        File.WriteAllText(System.IO.Path.Combine(Path, name, "routing.pbtxt"), routing);
        return this;
    }

    /// <summary>Adds model <paramref name="name"/> with <see cref="Config"/>.</summary>
    public FakeModelRepository Add(string name, params int[] versions) => Add(name, Config, versions);

    public void Dispose()
    {
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}
