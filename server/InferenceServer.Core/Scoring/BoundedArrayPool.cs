using System.Buffers;
using System.Numerics;

namespace InferenceServer.Core.Scoring;

/// <summary>
/// An array pool that keeps at most <see cref="FreeBytesLimit"/> bytes of free arrays, whatever their sizes and
/// whichever thread returns them; an array returned past that is left to the collector. Arrays are powers of two long.
/// The bound can be raised while the pool is in use (<see cref="KeepAtLeast"/>), never lowered.
/// A pool that keeps a number of arrays per size (<see cref="ArrayPool{T}.Create(int, int)"/>) keeps, over a run, the
/// most each size was ever rented at once, summed over the sizes: more than was ever rented at once, and more as a run
/// meets more page sizes.
/// </summary>
internal sealed class BoundedArrayPool<T>(long freeBytesLimit) : ArrayPool<T>
{
    private static readonly int ElementBytes = typeof(T).IsValueType ? System.Runtime.CompilerServices.Unsafe.SizeOf<T>() : IntPtr.Size;

    private readonly Lock _lock = new();
    private readonly Stack<T[]>?[] _free = new Stack<T[]>?[31];
    private long _freeBytes;
    private long _rentedBytes;

    /// <summary>The most bytes of free arrays the pool keeps.</summary>
    public long FreeBytesLimit
    {
        get
        {
            lock (_lock)
            {
                return _freeBytesLimit;
            }
        }
    }

    private long _freeBytesLimit = freeBytesLimit;

    /// <summary>Raises <see cref="FreeBytesLimit"/> to <paramref name="bytes"/> when it is lower.</summary>
    public void KeepAtLeast(long bytes)
    {
        lock (_lock)
        {
            _freeBytesLimit = Math.Max(_freeBytesLimit, bytes);
        }
    }

    /// <summary>The bytes of the free arrays the pool keeps now.</summary>
    public long FreeBytes
    {
        get
        {
            lock (_lock)
            {
                return _freeBytes;
            }
        }
    }

    /// <summary>The bytes of the arrays rented from the pool and not given back yet.</summary>
    public long RentedBytes
    {
        get
        {
            lock (_lock)
            {
                return _rentedBytes;
            }
        }
    }

    public override T[] Rent(int minimumLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minimumLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minimumLength, 1 << 30);
        if (minimumLength == 0)
        {
            return [];
        }
        var size = BitOperations.Log2(BitOperations.RoundUpToPowerOf2((uint)minimumLength));
        lock (_lock)
        {
            _rentedBytes += (long)ElementBytes << size;
            if (_free[size] is { Count: > 0 } stack)
            {
                var array = stack.Pop();
                _freeBytes -= (long)array.Length * ElementBytes;
                return array;
            }
        }
        return GC.AllocateUninitializedArray<T>(1 << size);
    }

    public override void Return(T[] array, bool clearArray = false)
    {
        ArgumentNullException.ThrowIfNull(array);
        if (array.Length == 0 || !BitOperations.IsPow2(array.Length))
        {
            // Not one of this pool's sizes (an empty array, or one not rented here): nothing to keep.
            return;
        }
        if (clearArray)
        {
            Array.Clear(array);
        }
        var bytes = (long)array.Length * ElementBytes;
        lock (_lock)
        {
            // An array not rented here (or returned twice) must not make the count negative.
            _rentedBytes = Math.Max(0, _rentedBytes - bytes);
            if (_freeBytes + bytes > _freeBytesLimit)
            {
                return;
            }
            (_free[BitOperations.Log2((uint)array.Length)] ??= new Stack<T[]>()).Push(array);
            _freeBytes += bytes;
        }
    }
}
