namespace InferenceServer.LoadTest.Tests.Functional;

/// <summary>The real server (REST, gRPC and metrics on 127.0.0.1 port 0) over the sample models <c>income</c> and <c>simple</c>, shared by the functional load runs.</summary>
public sealed class ServerFixture : TestServerFixture
{
    /// <summary>The checkout's root folder.</summary>
    public static string Root => RepositoryPaths.Root;

    private protected override void Populate(TestRepository repository) => repository.AddSample("income").AddSample("simple");

    // These tests drive the load generator, not the server's admission control: a burst of hundreds of requests that a
    // busy machine takes over 100 ms to drain must be queued whole, not shed (shedding has its own tests).
    protected override (string Key, string Value)[] Settings => [("Server:MaxQueueBatches", "0")];
}
