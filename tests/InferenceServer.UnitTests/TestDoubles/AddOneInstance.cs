using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Tensors;

namespace InferenceServer.UnitTests.TestDoubles;

/// <summary>
/// An honest fake model instance: output <c>j</c> really is computed from input <c>j</c> — INT32
/// and FP32 elements plus one, BYTES elements with <c>"+1"</c> appended — keeping the input's shape.
/// It records each batch's size, can be held on a gate the test opens, and can fail like a backend.
/// </summary>
public sealed class AddOneInstance : IModelInstance
{
    private readonly ConcurrentQueue<long> _batchSizes = new();
    private readonly ConcurrentQueue<int[]> _rowHeads = new();
    private readonly SemaphoreSlim _started = new(0);
    private readonly Lock _lock = new();
    private TaskCompletionSource? _gate;
    private BackendException? _failure;
    private int _disposed;

    /// <inheritdoc />
    public ModelSignature Signature { get; } = new(
        [new TensorInfo("INPUT0", DataType.Int32, [-1, -1])],
        [new TensorInfo("OUTPUT0", DataType.Int32, [-1, -1])]);

    /// <summary>What the instance reports holding (a real backend measures it; this one is told).</summary>
    public long MemoryBytes { get; init; }

    /// <summary>The batch dimension of every batch run so far, in order.</summary>
    public long[] BatchSizes => _batchSizes.ToArray();

    /// <summary>Per INT32 batch, the first element of each row: which requests ran together, in which order.</summary>
    public int[][] RowHeads => _rowHeads.ToArray();

    /// <summary>How many times <see cref="Dispose"/> was called.</summary>
    public int DisposeCount => Volatile.Read(ref _disposed);

    /// <summary>From now on, each run waits (after signalling its start) until <see cref="Open"/> or <see cref="ReleaseHeld"/>.</summary>
    public void Close()
    {
        lock (_lock)
        {
            _gate ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>Lets held and later runs go.</summary>
    public void Open()
    {
        TaskCompletionSource? gate;
        lock (_lock)
        {
            gate = _gate;
            _gate = null;
        }
        gate?.TrySetResult();
    }

    /// <summary>Lets the runs held now go and holds the later ones: a closed instance runs one batch at a time.</summary>
    public void ReleaseHeld()
    {
        TaskCompletionSource? gate;
        lock (_lock)
        {
            gate = _gate;
            _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        gate?.TrySetResult();
    }

    /// <summary>The next run throws <paramref name="failure"/> instead of computing.</summary>
    public void FailNextRun(BackendException failure) => Volatile.Write(ref _failure, failure);

    /// <summary>Completes when a run has started (each call consumes one start).</summary>
    public Task WaitForRunStartAsync() => _started.WaitAsync();

    /// <inheritdoc />
    public Tensor[] Run(IReadOnlyList<Tensor> inputs, IReadOnlyList<string> outputNames)
    {
        _batchSizes.Enqueue(inputs[0].Shape[0]);
        if (inputs[0].DataType == DataType.Int32)
        {
            var values = ReadInt32(inputs[0]);
            var rows = (int)inputs[0].Shape[0];
            var heads = new int[rows];
            for (var r = 0; r < rows; r++)
            {
                heads[r] = values[r * (values.Length / rows)];
            }
            _rowHeads.Enqueue(heads);
        }
        // The gate is taken before the start is signalled: a test that acts on the start (ReleaseHeld) knows which gate
        // this run waits on.
        Task? gate;
        lock (_lock)
        {
            gate = _gate?.Task;
        }
        _started.Release();
        gate?.Wait();
        var failure = Interlocked.Exchange(ref _failure, null);
        if (failure is not null)
        {
            throw failure;
        }

        var outputs = new Tensor[outputNames.Count];
        for (var j = 0; j < outputNames.Count; j++)
        {
            outputs[j] = Compute(outputNames[j], inputs[j]);
        }
        return outputs;
    }

    private static Tensor Compute(string name, Tensor input)
    {
        var shape = (long[])input.Shape.Clone();
        switch (input.DataType)
        {
            case DataType.Int32:
            {
                var output = Tensor.Allocate(name, DataType.Int32, shape, input.ByteLength);
                for (var i = 0; i < input.ByteLength; i += 4)
                {
                    BinaryPrimitives.WriteInt32LittleEndian(output.Data[i..], BinaryPrimitives.ReadInt32LittleEndian(input.Data[i..]) + 1);
                }
                return output;
            }
            case DataType.Fp32:
            {
                var output = Tensor.Allocate(name, DataType.Fp32, shape, input.ByteLength);
                for (var i = 0; i < input.ByteLength; i += 4)
                {
                    BinaryPrimitives.WriteSingleLittleEndian(output.Data[i..], BinaryPrimitives.ReadSingleLittleEndian(input.Data[i..]) + 1);
                }
                return output;
            }
            case DataType.Bytes:
            {
                var suffix = "+1"u8;
                var elements = (int)input.ElementCount;
                var output = Tensor.Allocate(name, DataType.Bytes, shape, input.ByteLength + (elements * suffix.Length));
                var offset = 0;
                foreach (var element in BytesTensorLayout.Elements(input.Data))
                {
                    var grown = new byte[element.Length + suffix.Length];
                    element.CopyTo(grown);
                    suffix.CopyTo(grown.AsSpan(element.Length));
                    offset += BytesTensorLayout.WriteElement(output.Data[offset..], grown);
                }
                return output;
            }
            default:
                throw new BackendException($"AddOneInstance cannot compute {input.DataType.ProtocolName()}", Core.Inference.InferenceErrorKind.InvalidArgument);
        }
    }

    /// <inheritdoc />
    public void Dispose() => Interlocked.Increment(ref _disposed);

    /// <summary>Reads an INT32 tensor's elements.</summary>
    public static int[] ReadInt32(Tensor tensor)
    {
        var values = new int[tensor.ByteLength / 4];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadInt32LittleEndian(tensor.Data[(i * 4)..]);
        }
        return values;
    }

    /// <summary>Reads a BYTES tensor's elements as UTF-8 strings.</summary>
    public static string[] ReadStrings(Tensor tensor)
    {
        var values = new List<string>();
        foreach (var element in BytesTensorLayout.Elements(tensor.Data))
        {
            values.Add(Encoding.UTF8.GetString(element));
        }
        return [.. values];
    }

    /// <summary>An INT32 tensor of <paramref name="shape"/> holding <paramref name="values"/>.</summary>
    public static Tensor Int32Tensor(string name, long[] shape, params int[] values)
    {
        var tensor = Tensor.Allocate(name, DataType.Int32, shape, values.Length * 4);
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(tensor.Data[(i * 4)..], values[i]);
        }
        return tensor;
    }

    /// <summary>A BYTES tensor of <paramref name="shape"/> holding <paramref name="values"/> (UTF-8).</summary>
    public static Tensor BytesTensor(string name, long[] shape, params string[] values)
    {
        var length = 0;
        foreach (var value in values)
        {
            length += BytesTensorLayout.PrefixSize + Encoding.UTF8.GetByteCount(value);
        }
        var tensor = Tensor.Allocate(name, DataType.Bytes, shape, length);
        var offset = 0;
        foreach (var value in values)
        {
            offset += BytesTensorLayout.WriteElement(tensor.Data[offset..], Encoding.UTF8.GetBytes(value));
        }
        return tensor;
    }
}
