using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using InferenceServer.Benchmarks.Scheduling;
using InferenceServer.Core.Models;
using InferenceServer.Core.Monitoring;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Routing;
using InferenceServer.Core.Scheduling;
using InferenceServer.Core.Tensors;
using DataType = InferenceServer.Core.Tensors.DataType;

namespace InferenceServer.Benchmarks.Routing;

/// <summary>
/// What routing costs a request, from the name it addresses to the version that runs it, through the router the front
/// door uses: a model without a route (the baseline: a table lookup and the newest READY version) against a route of
/// two variants (income v1 and v2, 90/10) chosen by a key in a request parameter, in the first element of an INT64
/// input tensor (formatted as text first), and with no key (weighted random). Every request carries two headers, so
/// the route's look for its forcing header is a real lookup. The target: under 1 µs and nothing allocated
/// per route decision.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class RouteDecisionBenchmarks
{
    private const string ByParameter = """
        variant { name: "stable" model: "income" version: 1 weight: 90 }
        variant { name: "canary" model: "income" version: 2 weight: 10 }
        sticky {}
        """;

    private const string ByInput = """
        variant { name: "stable" model: "income" version: 1 weight: 90 }
        variant { name: "canary" model: "income" version: 2 weight: 10 }
        sticky { input: "user_id" }
        """;

    private const string Weighted = """
        variant { name: "stable" model: "income" version: 1 weight: 90 }
        variant { name: "canary" model: "income" version: 2 weight: 10 }
        """;

    private static readonly Func<object, string, string?> ReadHeader = static (headers, name) => ((Dictionary<string, string>)headers).GetValueOrDefault(name);

    private readonly Dictionary<string, string> _headers = new(StringComparer.OrdinalIgnoreCase) { ["content-type"] = "application/json", ["user-agent"] = "bench" };
    private ModelRouter _router = null!;
    private ModelScheduler _scheduler = null!;
    private Tensor _userId = null!;
    private RoutingContext _plain;
    private RoutingContext _byParameter;
    private RoutingContext _byInput;

    [GlobalSetup]
    public void Setup()
    {
        _scheduler = new ModelScheduler("income", 64, null, [new EchoInstance()]);
        var config = new ModelConfig { Name = "income", MaxBatchSize = 64 };
        var versions = new Dictionary<long, ModelVersion>
        {
            [1] = ModelVersion.Ready("income", 1, config, _scheduler, 1),
            [2] = ModelVersion.Ready("income", 2, config, _scheduler, 1),
        };
        var registry = new ModelRegistry();
        registry.Publish(new ModelEntry("income", versions, ""));
        registry.PublishRoute("income_sticky", RoutingConfigReader.Parse(ByParameter, "income_sticky", besideModel: false));
        registry.PublishRoute("income_input", RoutingConfigReader.Parse(ByInput, "income_input", besideModel: false));
        registry.PublishRoute("income_weighted", RoutingConfigReader.Parse(Weighted, "income_weighted", besideModel: false));
        _router = new ModelRouter(registry, new TrafficPolicy(), new RouteServices(new RoutingMetrics(Prometheus.Metrics.NewCustomRegistry())));

        var headers = new RequestHeaders(_headers, ReadHeader);
        _plain = new RoutingContext(headers, null);
        _byParameter = new RoutingContext(headers, new Dictionary<string, string> { ["routing_key"] = "user-1234567" });
        _userId = Tensor.Allocate("user_id", DataType.Int64, [1, 1], sizeof(long));
        BitConverter.TryWriteBytes(_userId.Data, 1234567L);
        _byInput = new RoutingContext(headers, null, inputs: [_userId]);

        // What is measured must route where it should: the sticky key to its variant every time, every route to income.
        var first = _router.Resolve("income_sticky", null, _byParameter);
        for (var i = 0; i < 100; i++)
        {
            if (!ReferenceEquals(first, _router.Resolve("income_sticky", null, _byParameter)) || _router.Resolve("income_input", null, _byInput).Variant is null)
            {
                throw new InvalidOperationException("the sticky routes do not route as they should");
            }
        }
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        _userId.Dispose();
        await _scheduler.DisposeAsync();
    }

    [Benchmark(Baseline = true, Description = "model, no route")]
    [BenchmarkCategory("resolve")]
    public ModelTarget Direct() => _router.Resolve("income", null, _plain);

    [Benchmark(Description = "2-variant sticky route, key in a parameter")]
    [BenchmarkCategory("resolve")]
    public ModelTarget StickyParameter() => _router.Resolve("income_sticky", null, _byParameter);

    [Benchmark(Description = "2-variant sticky route, key in an INT64 input")]
    [BenchmarkCategory("resolve")]
    public ModelTarget StickyInput() => _router.Resolve("income_input", null, _byInput);

    [Benchmark(Description = "2-variant route, no key (weighted random)")]
    [BenchmarkCategory("resolve")]
    public ModelTarget WeightedRandom() => _router.Resolve("income_weighted", null, _plain);
}
