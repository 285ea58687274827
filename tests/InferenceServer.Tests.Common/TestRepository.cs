namespace InferenceServer.Tests.Common;

/// <summary>A model repository in a temporary folder, built model by model, deleted on dispose.</summary>
internal sealed class TestRepository : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "inference-server-tests", Guid.NewGuid().ToString("N"));

    public TestRepository() => Directory.CreateDirectory(Path);

    /// <summary>Adds <paramref name="name"/> with <paramref name="config"/> (null: no config.pbtxt) and the given version files.</summary>
    public TestRepository Add(string name, string? config, byte[] model, string fileName = "model.onnx", params int[] versions)
    {
        var folder = System.IO.Path.Combine(Path, name);
        Directory.CreateDirectory(folder);
        if (config is not null)
        {
            File.WriteAllText(System.IO.Path.Combine(folder, "config.pbtxt"), config);
        }
        foreach (var version in versions.Length == 0 ? [1] : versions)
        {
            var versionFolder = System.IO.Path.Combine(folder, version.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Directory.CreateDirectory(versionFolder);
            File.WriteAllBytes(System.IO.Path.Combine(versionFolder, fileName), model);
        }
        return this;
    }

    /// <summary>Writes one version folder of an existing (or new) model.</summary>
    public string AddVersion(string name, int version, byte[] model, string fileName = "model.onnx")
    {
        var folder = System.IO.Path.Combine(Path, name, version.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(System.IO.Path.Combine(folder, fileName), model);
        return folder;
    }

    /// <summary>The bytes of a fixture model from tests/fixtures/onnx.</summary>
    public static byte[] Fixture(string fixture) => File.ReadAllBytes(System.IO.Path.Combine(RepositoryPaths.OnnxFixtures, fixture));

    /// <summary>Adds a fixture model from tests/fixtures/onnx.</summary>
    public TestRepository AddFixture(string name, string fixture, string? config = null, params int[] versions) =>
        Add(name, config, File.ReadAllBytes(System.IO.Path.Combine(RepositoryPaths.OnnxFixtures, fixture)), "model.onnx", versions);

    /// <summary>Copies a sample model from models/.</summary>
    public TestRepository AddSample(string name)
    {
        CopyDirectory(System.IO.Path.Combine(RepositoryPaths.Models, name), System.IO.Path.Combine(Path, name));
        return this;
    }

    private static void CopyDirectory(string source, string destination)
    {
        Directory.CreateDirectory(destination);
        foreach (var file in Directory.EnumerateFiles(source))
        {
            File.Copy(file, System.IO.Path.Combine(destination, System.IO.Path.GetFileName(file)));
        }
        foreach (var directory in Directory.EnumerateDirectories(source))
        {
            CopyDirectory(directory, System.IO.Path.Combine(destination, System.IO.Path.GetFileName(directory)));
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }
}
