using System.Buffers;

namespace InferenceServer.Core.Tensors;

/// <summary>
/// A named tensor whose elements live in one pooled byte buffer, laid out as the v2 binary
/// extension lays them out: little-endian, row-major, no padding; BOOL one byte per element;
/// BYTES as a 4-byte little-endian length followed by that many bytes, per element.
/// Every datatype therefore has one representation, from the wire to the backend and back.
/// The data of every type but BYTES starts on a 64-byte boundary in memory that never moves
/// (<see cref="AlignedBufferPool"/>), so a backend reads it in place and gives the same answer for
/// the same values wherever they landed; BYTES are copied element by element by every backend and
/// use <see cref="ArrayPool{T}.Shared"/>.
/// Dispose returns the buffer to its pool; a tensor is owned by exactly one holder at a time.
/// </summary>
public sealed class Tensor : IDisposable
{
    private byte[]? _buffer;
    private readonly int _offset;
    private readonly int _length;
    private readonly bool _aligned;

    private Tensor(string name, DataType dataType, long[] shape, byte[] buffer, int offset, int length, bool aligned)
    {
        Name = name;
        DataType = dataType;
        Shape = shape;
        _buffer = buffer;
        _offset = offset;
        _length = length;
        _aligned = aligned;
    }

    /// <summary>The largest <see cref="ByteLength"/> a tensor can have.</summary>
    public static int MaxByteLength => AlignedBufferPool.MaxLength;

    /// <summary>The tensor's name as the model knows it.</summary>
    public string Name { get; }

    /// <summary>Element type.</summary>
    public DataType DataType { get; }

    /// <summary>Dimensions; every one is known (no -1) for a tensor that holds data.</summary>
    public long[] Shape { get; }

    /// <summary>Number of elements: the product of <see cref="Shape"/>.</summary>
    public long ElementCount => ShapeMath.ElementCount(Shape);

    /// <summary>The element bytes.</summary>
    public Span<byte> Data => Buffer.AsSpan(_offset, _length);

    /// <summary>The element bytes as memory, for asynchronous writers.</summary>
    public Memory<byte> Memory => Buffer.AsMemory(_offset, _length);

    /// <summary>Length of <see cref="Data"/> in bytes.</summary>
    public int ByteLength => _length;

    /// <summary>Its data is in the aligned pool: pinned, on a 64-byte boundary, fit for a backend (see <see cref="CopyUnpinned"/>).</summary>
    internal bool IsAligned => _aligned;

    private byte[] Buffer => _buffer ?? throw new ObjectDisposedException(nameof(Tensor), $"tensor '{Name}' was already released");

    /// <summary>Rents a buffer of <paramref name="byteLength"/> bytes for a new tensor; the caller fills <see cref="Data"/>.</summary>
    public static Tensor Allocate(string name, DataType dataType, long[] shape, int byteLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(byteLength);
        if (byteLength == 0)
        {
            return new Tensor(name, dataType, shape, [], 0, 0, aligned: false);
        }
        if (dataType == DataType.Bytes)
        {
            return new Tensor(name, dataType, shape, ArrayPool<byte>.Shared.Rent(byteLength), 0, byteLength, aligned: false);
        }
        var buffer = AlignedBufferPool.Rent(byteLength, out var offset);
        return new Tensor(name, dataType, shape, buffer, offset, byteLength, aligned: true);
    }

    /// <summary>
    /// Makes a tensor of the first <paramref name="length"/> bytes of <paramref name="pooledBuffer"/>,
    /// which must come from <see cref="ArrayPool{T}.Shared"/>; the tensor takes ownership of it. For
    /// decoders that only know the exact size once they have written the data (BYTES). A tensor of
    /// any other type needs aligned memory, so its bytes are copied there and the array goes back to the pool.
    /// </summary>
    public static Tensor Adopt(string name, DataType dataType, long[] shape, byte[] pooledBuffer, int length)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, pooledBuffer.Length);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (dataType == DataType.Bytes)
        {
            return new Tensor(name, dataType, shape, pooledBuffer, 0, length, aligned: false);
        }
        var tensor = Copy(name, dataType, shape, pooledBuffer.AsSpan(0, length));
        ArrayPool<byte>.Shared.Return(pooledBuffer);
        return tensor;
    }

    /// <summary>Copies <paramref name="data"/> into a new pooled tensor.</summary>
    public static Tensor Copy(string name, DataType dataType, long[] shape, ReadOnlySpan<byte> data)
    {
        var tensor = Allocate(name, dataType, shape, data.Length);
        data.CopyTo(tensor.Data);
        return tensor;
    }

    /// <summary>
    /// Copies <paramref name="data"/> into a tensor in <see cref="ArrayPool{T}.Shared"/> memory, unaligned and movable: for
    /// bytes that are only read by managed code and never reach a backend, such as the shadow's copies waiting in its queue.
    /// </summary>
    /// <remarks>
    /// Why not <see cref="Copy"/> for those: the aligned pool keeps a bounded number of arrays of a size (32 when this was
    /// measured, 256 now), and a busy shadow holds hundreds of copies at once, each of which then took a new array on the
    /// pinned object heap and left it there when released. Those allocations count towards full collections: measured on
    /// a route shadowing 3,000 requests a second, 5 to 6 gen 2 collections in 10 s against 0 to 1 without the shadow.
    /// Arrays this pool cannot keep are ordinary short-lived garbage.
    /// </remarks>
    internal static Tensor CopyUnpinned(string name, DataType dataType, long[] shape, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return new Tensor(name, dataType, shape, [], 0, 0, aligned: false);
        }
        var tensor = new Tensor(name, dataType, shape, ArrayPool<byte>.Shared.Rent(data.Length), 0, data.Length, aligned: false);
        data.CopyTo(tensor.Data);
        return tensor;
    }

    /// <summary>A tensor with the same bytes under another name or shape; ownership of the buffer moves to it.</summary>
    public Tensor Rename(string name, long[] shape)
    {
        var buffer = Buffer;
        _buffer = null;
        return new Tensor(name, DataType, shape, buffer, _offset, _length, _aligned);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is not { Length: > 0 })
        {
            return;
        }
        if (_aligned)
        {
            AlignedBufferPool.Return(buffer);
        }
        else
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
