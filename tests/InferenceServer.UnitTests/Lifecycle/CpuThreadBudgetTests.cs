using InferenceServer.Core.Backends;
using InferenceServer.Core.Lifecycle;
using InferenceServer.Core.Repository;
using static InferenceServer.UnitTests.Repository.TestConfigs;

namespace InferenceServer.UnitTests.Lifecycle;

public sealed class CpuThreadBudgetTests
{
    [Theory]
    [InlineData(16, 1, 16)]
    [InlineData(16, 4, 4)]
    [InlineData(16, 5, 3)]
    [InlineData(2, 4, 1)]
    [InlineData(2, 0, 2)]
    public void Cores_are_divided_among_instances_with_at_least_one_thread_each(int cores, int instances, int expected)
    {
        Assert.Equal(expected, CpuThreadBudget.ThreadsPerInstance(cores, instances));
    }

    [Fact]
    public void A_plan_counts_cpu_instances_of_every_selected_version_but_not_gpu_ones()
    {
        var directory = new ModelDirectory("m", "/repo/m", null, new Dictionary<long, string> { [1] = "/repo/m/1", [2] = "/repo/m/2" });
        var config = new ModelConfig
        {
            Name = "m",
            InstanceGroup =
            {
                Group(ModelInstanceGroup.Types.Kind.Cpu, 2),
                Group(ModelInstanceGroup.Types.Kind.Gpu, 3),
                Group(ModelInstanceGroup.Types.Kind.Auto, 1),
            },
        };
        var plan = new ModelLoadPlan(directory, config, null, [1, 2], "");
        Assert.Equal(6, plan.CpuInstanceCount);
        Assert.Equal(0, ModelLoadPlan.Failed(directory, "bad").CpuInstanceCount);
        Assert.Equal(2, (plan with { Config = new ModelConfig { Name = "m" } }).CpuInstanceCount);
    }
}
