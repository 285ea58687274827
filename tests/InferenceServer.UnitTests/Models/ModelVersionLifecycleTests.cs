using InferenceServer.Core.Inference;
using InferenceServer.Core.Models;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Scheduling;
using InferenceServer.Core.Tensors;
using InferenceServer.UnitTests.TestDoubles;
using InferenceServer.UnitTests.Repository;
using DataType = InferenceServer.Core.Tensors.DataType;

namespace InferenceServer.UnitTests.Models;

/// <summary>A retired version refuses new requests, finishes the admitted ones, then releases its instances.</summary>
public sealed class ModelVersionLifecycleTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static readonly ModelConfig Config = TestConfigs.Config("m", 4, [TestConfigs.Input("INPUT0", DataType.Int32, [2])], [TestConfigs.Output("OUTPUT0", DataType.Int32, [2])]);

    private static InferenceRequest Request(int value)
    {
        var request = new InferenceRequest { ModelName = "m" };
        request.Inputs.Add(AddOneInstance.Int32Tensor("INPUT0", [1, 2], value, value));
        return request;
    }

    [Fact]
    public async Task Retiring_waits_for_admitted_requests_and_refuses_new_ones()
    {
        var instance = new AddOneInstance();
        var version = ModelVersion.Ready("m", 1, Config, new ModelScheduler("m", 0, null, [instance]), 1);
        instance.Close();
        using var admitted = Request(1);
        var running = version.InferAsync(admitted, CancellationToken.None);
        await instance.WaitForRunStartAsync().WaitAsync(Patience);

        var retirement = version.RetireAsync();
        Assert.Equal(ModelState.Unloading, version.State);
        using var late = Request(2);
        var refused = await Assert.ThrowsAsync<InferenceException>(() => version.InferAsync(late, CancellationToken.None));
        Assert.Equal(InferenceErrorKind.Unavailable, refused.Kind);
        Assert.Contains("unloading", refused.Message);
        await Task.Delay(50);
        Assert.False(retirement.IsCompleted, "the admitted request is still running");
        Assert.Equal(0, instance.DisposeCount);

        instance.Open();
        using (var response = await running.WaitAsync(Patience))
        {
            Assert.Equal([2, 2], AddOneInstance.ReadInt32(response.Outputs[0]));
        }
        await retirement.WaitAsync(Patience);
        Assert.Equal((ModelState.Unavailable, "unloaded"), (version.State, version.Reason));
        Assert.Equal(1, instance.DisposeCount);
        Assert.Same(retirement, version.RetireAsync());
    }

    [Fact]
    public async Task An_idle_version_retires_at_once()
    {
        var instance = new AddOneInstance();
        var version = ModelVersion.Ready("m", 1, Config, new ModelScheduler("m", 0, null, [instance]), 1);
        using var request = Request(5);
        using (var response = await version.InferAsync(request, CancellationToken.None))
        {
            Assert.Equal([6, 6], AddOneInstance.ReadInt32(response.Outputs[0]));
        }
        await version.RetireAsync().WaitAsync(Patience);
        Assert.Equal(1, instance.DisposeCount);
    }
}
