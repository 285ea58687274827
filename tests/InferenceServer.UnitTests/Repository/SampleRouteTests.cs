using InferenceServer.Core.Repository;
using InferenceServer.Core.Routing;

namespace InferenceServer.UnitTests.Repository;

/// <summary>
/// The routes in the sample repository (models/*/routing.pbtxt) read cleanly, and every variant names a sample model
/// that takes the primary's requests: the same inputs and outputs (names, types, dims) and the same batch size, so
/// any request the route accepts can be answered by whichever variant it is sent to.
/// </summary>
public sealed class SampleRouteTests
{
    public static TheoryData<string> SampleRoutes() => new(RouteFolders());

    private static string[] RouteFolders() =>
    [
        .. Directory.GetDirectories(RepositoryPaths.Models)
            .Where(directory => File.Exists(Path.Combine(directory, RouteDeclaration.FileName)))
            .Select(Path.GetFileName)
            .Order(StringComparer.Ordinal)!,
    ];

    [Fact]
    public void The_sample_repository_declares_the_a_b_route_of_the_two_income_models()
    {
        Assert.Contains("income_ab", RouteFolders());
        var route = Read("income_ab");
        Assert.Equal(["income", "income_gbt"], route.Config.Variant.Select(v => v.Model));
        Assert.Equal([50u, 50u], route.Config.Variant.Select(v => v.Weight));
        Assert.Equal("routing_key", route.Config.Sticky.Parameter);
        Assert.Equal("probability", route.Config.Experiment.PredictionOutput);
        Assert.Equal("income", route.Config.Experiment.Control);
    }

    [Theory]
    [MemberData(nameof(SampleRoutes))]
    public void Every_variant_of_a_sample_route_is_a_sample_model_that_takes_the_primary_s_requests(string name)
    {
        var route = Read(name);
        var primary = Config(route.Config.Variant[0].Model);
        foreach (var variant in route.Config.Variant)
        {
            var config = Config(variant.Model);
            Assert.Equal(primary.MaxBatchSize, config.MaxBatchSize);
            Assert.Equal(Signature(primary.Input.Select(i => (i.Name, i.DataType, i.Dims.ToArray()))), Signature(config.Input.Select(i => (i.Name, i.DataType, i.Dims.ToArray()))));
            Assert.Equal(Signature(primary.Output.Select(o => (o.Name, o.DataType, o.Dims.ToArray()))), Signature(config.Output.Select(o => (o.Name, o.DataType, o.Dims.ToArray()))));
        }
    }

    private static RouteDeclaration Read(string name)
    {
        var folder = Path.Combine(RepositoryPaths.Models, name);
        return RoutingConfigReader.Parse(File.ReadAllText(Path.Combine(folder, RouteDeclaration.FileName)), name,
            besideModel: File.Exists(Path.Combine(folder, "config.pbtxt")));
    }

    private static ModelConfig Config(string model)
    {
        var path = Path.Combine(RepositoryPaths.Models, model, "config.pbtxt");
        Assert.True(File.Exists(path), $"the variant's model '{model}' is not a sample model");
        var result = ModelConfigReader.ReadFile(path);
        Assert.Empty(result.Warnings);
        return result.Config;
    }

    private static string[] Signature(IEnumerable<(string Name, DataType Type, long[] Dims)> tensors) =>
        [.. tensors.Select(t => $"{t.Name} {t.Type} [{string.Join(',', t.Dims)}]").Order(StringComparer.Ordinal)];
}
