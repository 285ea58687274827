namespace InferenceServer.FunctionalTests.Residency;

/// <summary>
/// Tests of a budget that counts the process's memory: the server runs in this test process, so they run on their own,
/// after the parallel tests, whose allocations would otherwise move the memory they reason about.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessMemoryCollection
{
    public const string Name = "process memory";
}
