namespace InferenceServer.FunctionalTests;

/// <summary>
/// Tests that keep a model busy on purpose and reason about what is running versus queued. They run
/// on their own, after the parallel tests, so other tests' CPU load cannot stretch their timelines.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TimingSensitive
{
    public const string Name = "timing sensitive";
}
