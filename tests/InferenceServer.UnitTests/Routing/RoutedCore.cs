using InferenceServer.Core.Lifecycle;
using InferenceServer.Core.Routing;
using InferenceServer.Core.Tensors;
using InferenceServer.UnitTests.Lifecycle;
using InferenceServer.UnitTests.TestDoubles;

namespace InferenceServer.UnitTests.Routing;

/// <summary>
/// A serving core over a repository of "m" (versions 1 and 2, both served) and "other" (version 1), both loaded, with
/// routes published through the registry as the lifecycle publishes them; and the routing contexts a protocol builds.
/// </summary>
internal sealed class RoutedCore : IAsyncDisposable
{
    private const string AllVersions = FakeModelRepository.Config + """

        version_policy: { all: {} }
        """;

    private readonly FakeModelRepository _repository;

    private RoutedCore(FakeModelRepository repository, ServingCore core)
    {
        _repository = repository;
        Core = core;
    }

    public ServingCore Core { get; }

    public static async Task<RoutedCore> StartAsync()
    {
        var repository = new FakeModelRepository().Add("m", AllVersions, 1, 2).Add("other", 1);
        var core = new ServingCore(new GatedBackend(), new ModelLifecycleOptions
        {
            ModelRepositories = [repository.Path],
            ModelControlMode = ModelControlMode.Explicit,
            LoadModels = ["m", "other"],
        });
        await core.Door.StartAsync(CancellationToken.None);
        return new RoutedCore(repository, core);
    }

    /// <summary>Publishes <paramref name="text"/> as the routing.pbtxt of <paramref name="name"/>.</summary>
    public void Publish(string name, string text, bool besideModel = true) =>
        Core.Registry.PublishRoute(name, RoutingConfigReader.Parse(text, name, besideModel));

    /// <summary>
    /// Writes <paramref name="text"/> as the routing.pbtxt of folder <paramref name="name"/> and loads the folder through
    /// the repository API, as an operator's edit is applied: the lifecycle reads the file and publishes what it declares.
    /// </summary>
    public Task WriteRouteAsync(string name, string text)
    {
        _repository.AddRoute(name, text);
        return Core.Door.LoadModelAsync(name, null, CancellationToken.None);
    }

    /// <summary>The runtime of route <paramref name="name"/> in the current table.</summary>
    public RouteRuntime Runtime(string name) => Core.Router.Table.Runtimes[name];

    /// <summary>The variant a request to <paramref name="model"/> goes to (null: the target is no route's variant).</summary>
    public string? Variant(string model, in RoutingContext context, string? version = null) => Core.Door.Resolve(model, version, context).Variant?.Name;

    /// <summary>A context with the given headers (and parameters, and inputs), as REST and gRPC build one.</summary>
    public static RoutingContext Context(Dictionary<string, string>? headers = null, Dictionary<string, string>? parameters = null,
        IReadOnlyList<Tensor>? inputs = null) =>
        new(headers is null ? default : new RequestHeaders(headers, ReadHeader), parameters, inputs: inputs);

    /// <summary>A context whose caller set the routing key.</summary>
    public static RoutingContext Keyed(string key) => new(default, null, key);

    private static string? ReadHeader(object headers, string name) => ((Dictionary<string, string>)headers).GetValueOrDefault(name);

    public async ValueTask DisposeAsync()
    {
        await Core.DisposeAsync();
        _repository.Dispose();
    }
}
