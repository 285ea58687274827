namespace InferenceServer.UnitTests.Residency;

/// <summary>Runs alone: these tests read the process's resident memory, which other tests allocating in parallel would move.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessMemoryCollection
{
    public const string Name = "Process memory";
}
