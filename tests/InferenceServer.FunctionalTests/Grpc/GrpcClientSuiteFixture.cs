namespace InferenceServer.FunctionalTests.Grpc;

/// <summary>
/// A real server over a repository of its own, and one run of a Python gRPC suite against it; each case's result is
/// then one xunit test. The run happens once per test class, so the cases share the server as they would in production.
/// </summary>
public abstract class GrpcClientSuiteFixture : TestServerFixture
{
    private GrpcSuiteResults? _results;

    /// <summary>The suite's name in grpc_cases.py.</summary>
    protected abstract string SuiteName { get; }

    internal GrpcSuiteResults Results => _results ?? throw new InvalidOperationException("the suite has not run");

    private protected override async Task OnStartedAsync(RunningServer server) => _results = await GrpcPythonClient.RunSuiteAsync(SuiteName, server);
}
