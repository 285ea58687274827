namespace InferenceServer.Benchmarks;

/// <summary>The repository's root folder, for the benchmarks that read its sample models, wherever BenchmarkDotNet runs them from.</summary>
internal static class RepositoryFolder
{
    /// <summary>The first folder above the benchmark's binaries that holds the solution file.</summary>
    public static string Root()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "InferenceServer.sln")))
            {
                return directory.FullName;
            }
        }
        throw new DirectoryNotFoundException("InferenceServer.sln not found above " + AppContext.BaseDirectory);
    }
}
