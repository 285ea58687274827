using System.Buffers.Binary;
using System.Collections.Concurrent;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Scheduling;
using InferenceServer.Core.Tensors;

namespace InferenceServer.UnitTests.Scheduling;

/// <summary>
/// An honest instance: every requested output is the element-wise sum of its INT32 inputs. When
/// given a gate, each run announces itself on <c>entered</c> and then waits for the test to release
/// the gate, so tests control exactly how many runs are in flight.
/// </summary>
internal sealed class AddingInstance(SemaphoreSlim? gate = null, SemaphoreSlim? entered = null) : IModelInstance
{
    private int _runs;
    private int _disposals;
    private int _poolRuns;

    public int Runs => Volatile.Read(ref _runs);

    public int Disposals => Volatile.Read(ref _disposals);

    /// <summary>Runs that happened on a thread-pool thread.</summary>
    public int ThreadPoolRuns => Volatile.Read(ref _poolRuns);

    /// <summary>Each run's first element of its first input, and the managed thread it ran on, in the order the runs began.</summary>
    public ConcurrentQueue<(int First, int Thread)> Started { get; } = new();

    /// <summary>Thrown by the next runs instead of computing, when set.</summary>
    public Exception? Failure { get; set; }

    public ModelSignature Signature { get; } = new(
        [new TensorInfo("a", DataType.Int32, [-1]), new TensorInfo("b", DataType.Int32, [-1])],
        [new TensorInfo("sum", DataType.Int32, [-1])]);

    public Tensor[] Run(IReadOnlyList<Tensor> inputs, IReadOnlyList<string> outputNames)
    {
        ObjectDisposedException.ThrowIf(Disposals > 0, this);
        Interlocked.Increment(ref _runs);
        if (Thread.CurrentThread.IsThreadPoolThread)
        {
            Interlocked.Increment(ref _poolRuns);
        }
        Started.Enqueue((inputs[0].ByteLength >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(inputs[0].Data) : 0, Environment.CurrentManagedThreadId));
        entered?.Release();
        gate?.Wait();
        if (Failure is { } failure)
        {
            throw failure;
        }
        var outputs = new Tensor[outputNames.Count];
        for (var o = 0; o < outputs.Length; o++)
        {
            var length = inputs[0].ByteLength;
            var output = Tensor.Allocate(outputNames[o], DataType.Int32, inputs[0].Shape, length);
            for (var i = 0; i < length; i += 4)
            {
                var sum = 0;
                foreach (var input in inputs)
                {
                    sum += BinaryPrimitives.ReadInt32LittleEndian(input.Data[i..]);
                }
                BinaryPrimitives.WriteInt32LittleEndian(output.Data[i..], sum);
            }
            outputs[o] = output;
        }
        return outputs;
    }

    public void Dispose() => Interlocked.Increment(ref _disposals);

    /// <summary>An INT32 tensor of <paramref name="values"/>, shape [n].</summary>
    public static Tensor Int32s(string name, params int[] values)
    {
        var tensor = Tensor.Allocate(name, DataType.Int32, [values.Length], values.Length * 4);
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(tensor.Data[(i * 4)..], values[i]);
        }
        return tensor;
    }

    /// <summary>A request for "sum" of a = [a, a] and b = [b, -b]: its answer is [a + b, a - b].</summary>
    public static SchedulerWork Work(int a, int b) => new([Int32s("a", a, a), Int32s("b", b, -b)], ["sum"], 0, 0);
}
