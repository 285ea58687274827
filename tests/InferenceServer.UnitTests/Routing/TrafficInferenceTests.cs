using InferenceServer.Core.Inference;
using InferenceServer.Core.Models;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Routing;
using InferenceServer.UnitTests.Monitoring;
using InferenceServer.UnitTests.TestDoubles;

namespace InferenceServer.UnitTests.Routing;

/// <summary>
/// The front door's traffic path: a request a route sent to a variant answers with the variant's name, is counted per
/// route and variant (requests, failures, latency), and gets an id when its route joins outcomes to ids.
/// </summary>
public sealed class TrafficInferenceTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private const string Route = """
        variant { name: "stable" version: 1 weight: 1 }
        variant { name: "canary" version: 2 weight: 1 }
        variant_header: "x-arm"
        """;

    private static string Labels(string variant) => $"route=\"m\",variant=\"{variant}\"";

    private static InferenceRequest Request(string model, string id = "", string? version = null)
    {
        var request = new InferenceRequest { ModelName = model, ModelVersion = version, Id = id };
        request.Inputs.Add(AddOneInstance.Int32Tensor("INPUT0", [1, 2], 10, 20));
        return request;
    }

    private static async Task<InferenceResponse> InferAsync(RoutedCore routed, InferenceRequest request, string? variant = null)
    {
        var context = variant is null ? default : RoutedCore.Context(headers: new() { ["x-arm"] = variant });
        var target = routed.Core.Door.Resolve(request.ModelName, request.ModelVersion, context);
        return await routed.Core.Door.InferAsync(target, request, context, CancellationToken.None).WaitAsync(Patience);
    }

    [Fact]
    public async Task A_variants_answer_names_the_variant_and_its_header_and_a_direct_answer_names_none()
    {
        await using var routed = await RoutedCore.StartAsync();
        routed.Publish("m", Route);

        using (var request = Request("m", "r1"))
        using (var response = await InferAsync(routed, request, "canary"))
        {
            Assert.Equal(("m", "2", "r1", "canary", "x-arm"), (response.ModelName, response.ModelVersion, response.Id, response.Variant, response.VariantHeader));
            Assert.Equal([11, 21], AddOneInstance.ReadInt32(response.Outputs[0]));
        }
        using (var request = Request("m", version: "1"))
        using (var response = await InferAsync(routed, request))
        {
            Assert.Equal(("1", true, true), (response.ModelVersion, response.Variant is null, response.VariantHeader is null));
        }
        using (var request = Request("other"))
        using (var response = await InferAsync(routed, request))
        {
            Assert.Null(response.Variant);
        }
    }

    [Fact]
    public async Task Requests_are_counted_per_route_and_variant_with_failures_and_latency()
    {
        await using var routed = await RoutedCore.StartAsync();
        routed.Publish("m", Route);

        for (var i = 0; i < 3; i++)
        {
            using var request = Request("m");
            using var response = await InferAsync(routed, request, "canary");
        }
        using (var request = Request("m"))
        using (var response = await InferAsync(routed, request, "stable"))
        {
        }
        using (var bad = new InferenceRequest { ModelName = "m" })
        {
            bad.Inputs.Add(AddOneInstance.Int32Tensor("WRONG", [1, 2], 1, 2));
            var error = await Assert.ThrowsAsync<InferenceException>(() => InferAsync(routed, bad, "stable"));
            Assert.Equal(InferenceErrorKind.InvalidArgument, error.Kind);
        }

        var scrape = await Scrape.TakeAsync(routed.Core.Metrics);
        Assert.Equal(3, scrape.Value("inference_server_route_requests_total", Labels("canary")));
        Assert.Equal(2, scrape.Value("inference_server_route_requests_total", Labels("stable")));
        Assert.Equal(0, scrape.Value("inference_server_route_failures_total", Labels("canary")));
        Assert.Equal(1, scrape.Value("inference_server_route_failures_total", Labels("stable")));
        Assert.Equal(3, scrape.Value("inference_server_route_request_duration_us_count", Labels("canary")));
        Assert.Equal(1, scrape.Value("inference_server_route_request_duration_us_count", Labels("stable")));
        Assert.Equal(3, scrape.Value("inference_server_route_request_duration_us_bucket", Labels("canary") + ",le=\"+Inf\""));
        Assert.Equal(1, scrape.Value("inference_server_route_variant_weight", Labels("canary")));

        // A weight change shows at the next scrape; a route that goes takes its weights with it, its counters stay.
        routed.Runtime("m").Weights.Set([3, 0]);
        scrape = await Scrape.TakeAsync(routed.Core.Metrics);
        Assert.Equal(3, scrape.Value("inference_server_route_variant_weight", Labels("stable")));
        Assert.Equal(0, scrape.Value("inference_server_route_variant_weight", Labels("canary")));
        routed.Core.Registry.PublishRoute("m", null);
        scrape = await Scrape.TakeAsync(routed.Core.Metrics);
        Assert.Empty(scrape.Series("inference_server_route_variant_weight"));
        Assert.Equal(3, scrape.Value("inference_server_route_requests_total", Labels("canary")));
    }

    [Fact]
    public async Task A_request_without_an_id_gets_one_when_its_route_runs_an_experiment()
    {
        await using var routed = await RoutedCore.StartAsync();
        routed.Publish("m", Route);
        routed.Publish("ab", """
            variant { name: "a" model: "m" weight: 1 }
            variant { name: "b" model: "other" weight: 1 }
            experiment {}
            """, besideModel: false);

        var ids = new HashSet<string>();
        for (var i = 0; i < 10; i++)
        {
            using var request = Request("ab");
            using var response = await InferAsync(routed, request);
            Assert.Matches("^[0-9a-f]{12}-[0-9]+$", response.Id);
            Assert.Equal(request.Id, response.Id);
            ids.Add(response.Id);
        }
        Assert.Equal(10, ids.Count);
        using (var request = Request("ab", "mine"))
        using (var response = await InferAsync(routed, request))
        {
            Assert.Equal("mine", response.Id);
        }
        // No experiment, no id: the answer echoes what the client sent, as for a model.
        using (var request = Request("m"))
        using (var response = await InferAsync(routed, request))
        {
            Assert.Equal("", response.Id);
        }
    }

    [Fact]
    public async Task A_request_whose_variants_version_is_retired_after_routing_runs_on_the_variant_that_replaced_it()
    {
        await using var routed = await RoutedCore.StartAsync();
        routed.Publish("ab", """
            variant { name: "a" model: "m" weight: 1 }
            variant { name: "b" model: "other" weight: 0 }
            """, besideModel: false);
        var target = routed.Core.Door.Resolve("ab", null, default);
        Assert.Equal(("a", "2"), (target.Variant!.Name, target.Version));

        // m's version 2 leaves (version 1 stays) and retires between routing and running.
        var one = routed.Core.Resolve("m", "1");
        routed.Core.Registry.Publish(new ModelEntry("m", new Dictionary<long, ModelVersion> { [1] = one }, ""));
        await target.Serving.RetireAsync().WaitAsync(Patience);

        using var request = Request("ab");
        using var response = await routed.Core.Door.InferAsync(target, request, default, CancellationToken.None).WaitAsync(Patience);
        Assert.Equal(("m", "1", "a"), (response.ModelName, response.ModelVersion, response.Variant));
    }

    [Fact]
    public void A_header_name_that_gRPC_or_HTTP_cannot_carry_is_refused()
    {
        foreach (var (field, value) in new[] { ("variant_header", "x variant"), ("variant_header", "grpc-variant"), ("variant_header", "x-variant-bin") })
        {
            var error = Assert.Throws<ModelConfigException>(() => RoutingConfigReader.Parse(
                $"variant {{ name: \"a\" model: \"m\" weight: 1 }}\n{field}: \"{value}\"", "r", besideModel: false));
            Assert.Contains($"'{value}' is not a header name", error.Message, StringComparison.Ordinal);
        }
        var sticky = Assert.Throws<ModelConfigException>(() => RoutingConfigReader.Parse(
            "variant { name: \"a\" model: \"m\" weight: 1 }\nsticky { header: \"user:id\" }", "r", besideModel: false));
        Assert.Contains("sticky.header", sticky.Message, StringComparison.Ordinal);
    }
}
