using Grpc.Net.Client;
using Xunit;

namespace InferenceServer.Tests.Common;

/// <summary>
/// One real server for a test class: Kestrel on 127.0.0.1 (ports 0) over a temporary repository that
/// <see cref="Populate"/> fills, with an HTTP client and a gRPC channel pointed at it; everything is released, and the
/// repository deleted, when the class is done.
/// </summary>
public abstract class TestServerFixture : IAsyncLifetime
{
    private readonly TestRepository _repository = new();
    private RunningServer? _server;
    private GrpcChannel? _channel;

    /// <summary>The HTTP/REST client.</summary>
    public HttpClient Client => Running.Client;

    /// <summary>Where the REST endpoint listens.</summary>
    public Uri HttpAddress => Running.Host.HttpAddress;

    /// <summary>Where the gRPC endpoint listens.</summary>
    public Uri GrpcAddress => Running.Host.GrpcAddress;

    /// <summary>A channel to the gRPC endpoint (<see cref="GrpcChannels.For"/>), made on first use.</summary>
    public GrpcChannel Channel => _channel ??= GrpcChannels.For(GrpcAddress);

    internal RunningServer Running => _server ?? throw new InvalidOperationException("the server has not started");

    /// <summary>Server settings beyond <see cref="RunningServer"/>'s test defaults.</summary>
    protected virtual (string Key, string Value)[] Settings => [];

    /// <summary>Adds the models the tests expect.</summary>
    private protected abstract void Populate(TestRepository repository);

    /// <summary>Runs once the server serves, e.g. a client suite whose results the tests then read.</summary>
    private protected virtual Task OnStartedAsync(RunningServer server) => Task.CompletedTask;

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        Populate(_repository);
        _server = await RunningServer.StartAsync(_repository.Path, Settings);
        await OnStartedAsync(_server);
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        _channel?.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        _repository.Dispose();
    }
}
