using InferenceServer.Core.Repository;
using DataType = InferenceServer.Core.Tensors.DataType;
using InferenceServer.Core.Scheduling;
using InferenceServer.Core.Tensors;
using InferenceServer.UnitTests.TestDoubles;

namespace InferenceServer.UnitTests.Scheduling;

/// <summary>
/// A <see cref="ModelScheduler"/> with batching on, over <see cref="AddOneInstance"/>s with a manual clock and
/// a recording observer. Request <c>id</c> sends INT32 rows whose elements are <c>id * 100 + k</c>,
/// so every output can be checked against the request it belongs to.
/// </summary>
internal sealed class DynamicBatchHarness : IAsyncDisposable
{
    public static readonly string[] Outputs = ["OUTPUT0"];

    private readonly List<Tensor> _inputs = [];

    /// <param name="clockView">What the scheduler sees of <see cref="Clock"/> (default: the clock itself), e.g. timers that fire early.</param>
    /// <param name="queueDefaults">The server's queue defaults (default: none, Triton's unbounded queues).</param>
    public DynamicBatchHarness(int maxBatchSize, ModelDynamicBatching config, int instanceCount = 1, Func<ManualTimeProvider, TimeProvider>? clockView = null,
        QueueDefaults? queueDefaults = null)
    {
        Instances = new AddOneInstance[instanceCount];
        for (var i = 0; i < instanceCount; i++)
        {
            Instances[i] = new AddOneInstance();
        }
        Scheduler = new ModelScheduler("m", maxBatchSize, config, Instances, clockView?.Invoke(Clock) ?? Clock, Observer, queueDefaults);
    }

    public ManualTimeProvider Clock { get; } = new();

    public RecordingSchedulerObserver Observer { get; } = new();

    public AddOneInstance[] Instances { get; }

    public AddOneInstance Instance => Instances[0];

    public ModelScheduler Scheduler { get; }

    /// <summary>Sends request <paramref name="id"/> with <paramref name="rows"/> rows of <paramref name="width"/> INT32 elements.</summary>
    public Task<Tensor[]> Send(int id, int rows = 1, int width = 2, int priority = 0, long timeoutMicroseconds = 0, CancellationToken cancellationToken = default)
    {
        var values = new int[rows * width];
        for (var k = 0; k < values.Length; k++)
        {
            values[k] = (id * 100) + k;
        }
        var input = AddOneInstance.Int32Tensor("INPUT0", [rows, width], values);
        _inputs.Add(input);
        return Scheduler.ScheduleAsync(new SchedulerWork([input], Outputs, priority, timeoutMicroseconds), cancellationToken).AsTask();
    }

    /// <summary>Checks that <paramref name="outputs"/> are request <paramref name="id"/>'s inputs plus one, in its shape.</summary>
    public static void AssertAddedOne(Tensor[] outputs, int id, int rows = 1, int width = 2)
    {
        var output = Assert.Single(outputs);
        Assert.Equal("OUTPUT0", output.Name);
        Assert.Equal(DataType.Int32, output.DataType);
        Assert.Equal(new long[] { rows, width }, output.Shape);
        var expected = new int[rows * width];
        for (var k = 0; k < expected.Length; k++)
        {
            expected[k] = (id * 100) + k + 1;
        }
        Assert.Equal(expected, AddOneInstance.ReadInt32(output));
        output.Dispose();
    }

    /// <summary>Occupies the (single) instance with a full batch held on its gate; returns the blocker's task.</summary>
    public async Task<Task<Tensor[]>> BlockInstanceAsync(int id, int maxBatchSize, AddOneInstance? instance = null)
    {
        instance ??= Instance;
        instance.Close();
        var blocker = Send(id, rows: maxBatchSize);
        await instance.WaitForRunStartAsync();
        return blocker;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var instance in Instances)
        {
            instance.Open();
        }
        await Scheduler.DisposeAsync();
        foreach (var input in _inputs)
        {
            input.Dispose();
        }
    }
}
