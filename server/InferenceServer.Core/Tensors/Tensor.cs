using System.Buffers;

namespace InferenceServer.Core.Tensors;

/// <summary>
/// A named tensor whose elements live in one pooled byte buffer, laid out as the v2 binary
/// extension lays them out: little-endian, row-major, no padding; BOOL one byte per element;
/// BYTES as a 4-byte little-endian length followed by that many bytes, per element.
/// Every datatype therefore has one representation, from the wire to the backend and back.
/// Dispose returns the buffer to the pool; a tensor is owned by exactly one holder at a time.
/// </summary>
public sealed class Tensor : IDisposable
{
    private byte[]? _buffer;
    private readonly int _length;

    private Tensor(string name, DataType dataType, long[] shape, byte[] buffer, int length)
    {
        Name = name;
        DataType = dataType;
        Shape = shape;
        _buffer = buffer;
        _length = length;
    }

    /// <summary>The tensor's name as the model knows it.</summary>
    public string Name { get; }

    /// <summary>Element type.</summary>
    public DataType DataType { get; }

    /// <summary>Dimensions; every one is known (no -1) for a tensor that holds data.</summary>
    public long[] Shape { get; }

    /// <summary>Number of elements: the product of <see cref="Shape"/>.</summary>
    public long ElementCount => ShapeMath.ElementCount(Shape);

    /// <summary>The element bytes.</summary>
    public Span<byte> Data => Buffer.AsSpan(0, _length);

    /// <summary>The element bytes as memory, for asynchronous writers.</summary>
    public Memory<byte> Memory => Buffer.AsMemory(0, _length);

    /// <summary>Length of <see cref="Data"/> in bytes.</summary>
    public int ByteLength => _length;

    private byte[] Buffer => _buffer ?? throw new ObjectDisposedException(nameof(Tensor), $"tensor '{Name}' was already released");

    /// <summary>Rents a buffer of <paramref name="byteLength"/> bytes for a new tensor; the caller fills <see cref="Data"/>.</summary>
    public static Tensor Allocate(string name, DataType dataType, long[] shape, int byteLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(byteLength);
        var buffer = byteLength == 0 ? [] : ArrayPool<byte>.Shared.Rent(byteLength);
        return new Tensor(name, dataType, shape, buffer, byteLength);
    }

    /// <summary>
    /// Makes a tensor of the first <paramref name="length"/> bytes of <paramref name="pooledBuffer"/>,
    /// which must come from <see cref="ArrayPool{T}.Shared"/>; the tensor takes ownership of it. For
    /// decoders that only know the exact size once they have written the data (BYTES).
    /// </summary>
    public static Tensor Adopt(string name, DataType dataType, long[] shape, byte[] pooledBuffer, int length)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, pooledBuffer.Length);
        return new Tensor(name, dataType, shape, pooledBuffer, length);
    }

    /// <summary>Copies <paramref name="data"/> into a new pooled tensor.</summary>
    public static Tensor Copy(string name, DataType dataType, long[] shape, ReadOnlySpan<byte> data)
    {
        var tensor = Allocate(name, dataType, shape, data.Length);
        data.CopyTo(tensor.Data);
        return tensor;
    }

    /// <summary>A tensor with the same bytes under another name or shape; ownership of the buffer moves to it.</summary>
    public Tensor Rename(string name, long[] shape)
    {
        var buffer = Buffer;
        _buffer = null;
        return new Tensor(name, DataType, shape, buffer, _length);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is { Length: > 0 })
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
