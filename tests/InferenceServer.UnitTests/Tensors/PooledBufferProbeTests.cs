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

    [Fact]
    public async Task Across_threads_sees_a_buffer_the_flow_rented_and_nobody_returned()
    {
        Tensor? leaked = null;
        Assert.Equal(1, await PooledBufferProbe.OutstandingAsync(async () =>
        {
            await Task.Yield();
            leaked = Tensor.Allocate("x", DataType.Fp32, [4], 16);
        }));
        leaked!.Dispose();
    }

    [Fact]
    public async Task Across_threads_counts_a_return_on_a_thread_that_does_not_share_the_flow()
    {
        Assert.Equal(0, await PooledBufferProbe.OutstandingAsync(async () =>
        {
            var tensor = Tensor.Allocate("x", DataType.Fp32, [4], 16);
            var returned = new TaskCompletionSource();
            using (ExecutionContext.SuppressFlow())
            {
                ThreadPool.UnsafeQueueUserWorkItem(_ =>
                {
                    tensor.Dispose();
                    returned.SetResult();
                }, null);
            }
            await returned.Task;
        }));
    }
}
