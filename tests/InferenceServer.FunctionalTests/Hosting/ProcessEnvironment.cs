namespace InferenceServer.FunctionalTests.Hosting;

/// <summary>Tests that change process-wide environment variables run alone, so no other server reads them.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessEnvironment
{
    public const string Name = "process environment";
}
