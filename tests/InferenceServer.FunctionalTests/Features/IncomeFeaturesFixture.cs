namespace InferenceServer.FunctionalTests.Features;

/// <summary>
/// A server over the income samples with their feature view (income, income_gbt, the route income_ab) and the simple
/// model, which has no view; no feature sidecar, so raw records work and entities get 503.
/// </summary>
public sealed class IncomeFeaturesFixture : TestServerFixture
{
    private protected override void Populate(TestRepository repository) =>
        repository.AddSample("income").AddSample("income_gbt").AddSample("income_ab").AddSample("simple");
}
