namespace InferenceServer.FunctionalTests.Grpc;

/// <summary>
/// A real server over a repository of its own, and one run of a Python gRPC suite against it; each case's result is
/// then one xunit test. The run happens once per test class, so the cases share the server as they would in production.
/// </summary>
public abstract class GrpcClientSuiteFixture : IAsyncLifetime
{
    private readonly TestRepository _repository = new();
    private RunningServer? _server;
    private GrpcSuiteResults? _results;

    /// <summary>The suite's name in grpc_cases.py.</summary>
    protected abstract string SuiteName { get; }

    internal GrpcSuiteResults Results => _results ?? throw new InvalidOperationException("the suite has not run");

    internal RunningServer Server => _server ?? throw new InvalidOperationException("the server has not started");

    /// <summary>Adds the models the suite expects.</summary>
    private protected abstract void Populate(TestRepository repository);

    /// <summary>Server settings beyond the test defaults.</summary>
    protected virtual (string Key, string Value)[] Settings => [];

    public async Task InitializeAsync()
    {
        Populate(_repository);
        _server = await RunningServer.StartAsync(_repository.Path, Settings);
        _results = await GrpcPythonClient.RunSuiteAsync(SuiteName, _server);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        _repository.Dispose();
    }
}
