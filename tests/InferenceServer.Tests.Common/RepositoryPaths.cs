namespace InferenceServer.Tests.Common;

/// <summary>Finds the checkout's folders from the test binaries' location.</summary>
internal static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    public static string Models => Path.Combine(Root, "models");

    public static string OnnxFixtures => Path.Combine(Root, "tests", "fixtures", "onnx");

    public static string TorchScriptFixtures => Path.Combine(Root, "tests", "fixtures", "torchscript");

    private static string FindRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "InferenceServer.sln")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException("cannot find InferenceServer.sln above " + AppContext.BaseDirectory);
    }
}
