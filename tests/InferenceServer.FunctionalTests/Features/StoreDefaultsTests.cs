using System.Net;
using System.Text.Json.Nodes;
using InferenceServer.Core.Features;
using InferenceServer.Core.Features.Sidecar;
using InferenceServer.FunctionalTests.Http;

namespace InferenceServer.FunctionalTests.Features;

/// <summary>
/// A view that declares <c>on_failure: DEFAULTS</c>: when the store fails, its fields count as missing and the
/// features' defaults stand in (the request's own fields still count), the answer is 200, and the request is counted
/// as <c>store_defaults</c>; a field with no default then fails the request as unavailable, naming the store's failure.
/// </summary>
public sealed class StoreDefaultsTests
{
    // income's view with every number defaulting to its mean's neighbourhood (0 before the transforms) and store
    // failures answered with the defaults.
    private static string DefaultsView(string text) => text
        .Replace("on_failure: UNAVAILABLE", "on_failure: DEFAULTS", StringComparison.Ordinal)
        .Replace("  kind: NUMBER\n", "  kind: NUMBER\n  default_number: 0\n", StringComparison.Ordinal);

    [Fact]
    public async Task A_failed_store_lets_the_defaults_stand_in_and_counts_it()
    {
        var path = FakeSidecar.NewPath();
        await using var sidecar = FakeSidecar.Start(path, _ => new FakeReply(SidecarStatus.StoreUnavailable, "redis://127.0.0.1:6399 refused the connection", []));
        using var repository = new TestRepository().AddSample("income");
        FakeStoreSidecarFixture.RelaxLookupTimeout(repository.Path);
        var file = Path.Combine(repository.Path, "income", FeatureView.FileName);
        var text = DefaultsView(File.ReadAllText(file).Replace("\r", "", StringComparison.Ordinal));
        File.WriteAllText(file, text);
        var view = FeatureViewReader.Parse(text, "income");
        await using var server = await RunningServer.StartAsync(repository.Path, ("FeatureSidecar:Path", path));
        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        var grpc = new Protocols.Grpc.Messages.GRPCInferenceService.GRPCInferenceServiceClient(channel);

        var (response, answer) = await server.Client.PostJsonAsync("/v2/models/income/predict", """{"entity": {"id": "7"}, "record": {"age": 61}}""");

        Assert.True(response.StatusCode == HttpStatusCode.OK, answer?.ToJsonString());
        // The reference: the view's defaults for every field but the request's own age.
        var expected = IncomeRecords.Probabilities(await grpc.ModelInferAsync(IncomeRecords.PlainInfer("income",
            IncomeRecords.Encode(new JsonObject { ["age"] = 61 }, view))))[0];
        Assert.Equal(expected, answer!["outputs"]!["probability"]!.GetValue<float>());
        var metrics = await server.MetricsClient.GetStringAsync("/metrics");
        Assert.Contains("inference_server_feature_requests_total{view=\"income\",outcome=\"store_defaults\"} 1", metrics.Split('\n'));
    }

    [Fact]
    public async Task A_failed_store_with_a_field_that_has_no_default_is_unavailable_naming_both()
    {
        var path = FakeSidecar.NewPath();
        await using var sidecar = FakeSidecar.Start(path, _ => new FakeReply(SidecarStatus.StoreUnavailable, "redis://127.0.0.1:6399 refused the connection", []));
        using var repository = new TestRepository().AddSample("income");
        FakeStoreSidecarFixture.RelaxLookupTimeout(repository.Path);
        var file = Path.Combine(repository.Path, "income", FeatureView.FileName);
        // Defaults on failure, but the numbers keep having none.
        File.WriteAllText(file, File.ReadAllText(file).Replace("on_failure: UNAVAILABLE", "on_failure: DEFAULTS", StringComparison.Ordinal));
        await using var server = await RunningServer.StartAsync(repository.Path, ("FeatureSidecar:Path", path));

        var (response, answer) = await server.Client.PostJsonAsync("/v2/models/income/predict", """{"entity": {"id": "7"}}""");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var message = answer!["error"]!.GetValue<string>();
        Assert.Contains("refused the connection", message);
        Assert.Contains("has no default", message);
    }
}
