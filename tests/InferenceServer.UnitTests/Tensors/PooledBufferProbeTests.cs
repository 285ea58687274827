using InferenceServer.Core.Tensors;

namespace InferenceServer.UnitTests.Tensors;

// The leak checks elsewhere are only as good as the probe, so check that it sees a leak.
public sealed class PooledBufferProbeTests
{
    [Fact]
    public void Sees_a_tensor_that_is_never_disposed()
    {
        Tensor? leaked = null;
        Assert.Equal(1, PooledBufferProbe.Outstanding(() => leaked = Tensor.Allocate("x", DataType.Fp32, [4], 16)));
        leaked!.Dispose();
    }

    [Fact]
    public void Sees_nothing_once_the_tensor_is_disposed()
    {
        Assert.Equal(0, PooledBufferProbe.Outstanding(() => Tensor.Allocate("x", DataType.Fp32, [4], 16).Dispose()));
    }
}
