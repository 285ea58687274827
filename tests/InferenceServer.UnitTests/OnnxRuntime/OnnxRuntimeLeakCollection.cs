
namespace InferenceServer.UnitTests.OnnxRuntime;

/// <summary>Runs alone: other tests allocating in parallel would move the process's memory under it.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class OnnxRuntimeLeakCollection
{
    public const string Name = "OnnxRuntime leak checks";
}
