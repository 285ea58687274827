using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace InferenceServer.Core.Tensors;

/// <summary>
/// The pool behind every tensor of a fixed-size element type: arrays on the pinned object heap, so
/// they never move while native code reads them, handed out with the offset at which their data
/// starts on a 64-byte boundary.
/// </summary>
/// <remarks>
/// Why a pool of our own: ONNX Runtime's vectorized kernels treat the unaligned head of a buffer
/// separately, so a reduction over the same values at two addresses can differ in the last bit.
/// Measured with ONNX Runtime 1.32 on x64: InstanceNormalization and Einsum <c>bij-&gt;bi</c> gave
/// four different results for one input placed at byte offsets 0, 4, 8 and 12 (mod 16), so two
/// identical requests answered differently depending on which pooled array each was given.
/// <see cref="System.Buffers.ArrayPool{T}.Shared"/> hands out arrays that start wherever the GC put
/// them (8-byte aligned) and may move while unpinned, and no library pool offers pinned, aligned
/// buffers of any size (Kestrel's pinned pool is internal and has fixed 4 KiB blocks).
/// Buckets are powers of two from 64 bytes to 1 GiB; each keeps at most 256 arrays and 64 MiB (at
/// least one array). A miss allocates on the pinned object heap, which only a full (gen 2) collection
/// reclaims, so a bucket must hold what is in flight at once: 32 arrays a size were fewer than the
/// tensors of 128 concurrent requests, or of a busy shadow's waiting copies, and every miss then
/// brought full collections closer (issue 13 counted 4–6 per 10 s on a shadowed route). At every full (gen 2) collection a bucket that has not been rented from for a
/// minute gives half of its arrays back, and all buckets empty when the machine's memory load is
/// high: idle memory returns to the system, while a size class in use keeps its arrays however many
/// collections come (a count of collections would empty it between two bursts of traffic).
/// </remarks>
internal static class AlignedBufferPool
{
    /// <summary>Where every buffer's data starts: a multiple of this many bytes (a cache line, and AVX-512's vector width).</summary>
    public const int Alignment = 64;

    private const int MinShift = 6;
    private const int MaxShift = 30;
    private const long RetainedBytesPerBucket = 64L * 1024 * 1024;
    private const int MaxRetainedPerBucket = 256;

    /// <summary>How long a bucket goes without a rent before full collections start giving its arrays back.</summary>
    internal const long IdleMilliseconds = 60_000;

    private static readonly Bucket[] Buckets = CreateBuckets();

    /// <summary>The largest tensor this pool can hold: the alignment slack comes out of an array's maximum length.</summary>
    public static int MaxLength => Array.MaxLength - Alignment;

    /// <summary>Rents an array holding at least <paramref name="length"/> bytes from <paramref name="offset"/> on, which is 64-byte aligned.</summary>
    public static byte[] Rent(int length, out int offset)
    {
        if ((uint)length > (uint)MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, $"a tensor buffer holds at most {MaxLength} bytes");
        }
        var shift = Math.Max(MinShift, BitOperations.Log2((uint)Math.Max(length, 1) - 1) + 1);
        byte[] array;
        if (shift > MaxShift)
        {
            // Too large to keep: allocated to size and left to the GC when returned.
            array = GC.AllocateUninitializedArray<byte>(length + Alignment, pinned: true);
        }
        else
        {
            array = Buckets[shift - MinShift].Rent() ?? GC.AllocateUninitializedArray<byte>((1 << shift) + Alignment, pinned: true);
        }
        offset = OffsetOf(array);
        TensorBufferEventSource.Log.Rented(array);
        return array;
    }

    /// <summary>Takes back an array from <see cref="Rent"/>; the caller must not touch it afterwards.</summary>
    public static void Return(byte[] array)
    {
        TensorBufferEventSource.Log.Returned(array);
        var size = array.Length - Alignment;
        if (size > 0 && BitOperations.IsPow2(size))
        {
            var shift = BitOperations.Log2((uint)size);
            if (shift is >= MinShift and <= MaxShift)
            {
                Buckets[shift - MinShift].Return(array);
            }
        }
    }

    /// <summary>The offset of the first 64-byte boundary in <paramref name="array"/>'s data; fixed for its lifetime, as the array is pinned.</summary>
    public static unsafe int OffsetOf(byte[] array)
    {
        var address = (nuint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        return (int)((Alignment - (address & (Alignment - 1))) & (Alignment - 1));
    }

    private static Bucket[] CreateBuckets()
    {
        var buckets = new Bucket[MaxShift - MinShift + 1];
        for (var i = 0; i < buckets.Length; i++)
        {
            var size = 1L << (i + MinShift);
            buckets[i] = new Bucket((int)Math.Clamp(RetainedBytesPerBucket / size, 1, MaxRetainedPerBucket));
        }
        _ = new Trimmer();
        return buckets;
    }

    /// <summary>Gives back half of the arrays of each bucket idle at <paramref name="now"/> (<see cref="Environment.TickCount64"/>), or all of every bucket's when <paramref name="pressed"/>.</summary>
    internal static void Trim(long now, bool pressed)
    {
        foreach (var bucket in Buckets)
        {
            bucket.Trim(now, pressed);
        }
    }

    private static void Trim()
    {
        var memory = GC.GetGCMemoryInfo();
        Trim(Environment.TickCount64, pressed: memory.MemoryLoadBytes >= memory.HighMemoryLoadThresholdBytes * 9 / 10);
    }

    // A lock per bucket: rents and returns come from a handful of request threads, and a short lock
    // neither allocates nor loses arrays the way a lock-free stack of nodes would.
    private sealed class Bucket(int capacity)
    {
        private readonly Lock _lock = new();
        private readonly byte[]?[] _arrays = new byte[]?[capacity];
        private int _count;
        private long _lastRent = Environment.TickCount64;

        public byte[]? Rent()
        {
            lock (_lock)
            {
                _lastRent = Environment.TickCount64;
                if (_count == 0)
                {
                    return null;
                }
                var array = _arrays[--_count];
                _arrays[_count] = null;
                return array;
            }
        }

        public void Return(byte[] array)
        {
            lock (_lock)
            {
                if (_count < _arrays.Length)
                {
                    _arrays[_count++] = array;
                }
            }
        }

        public void Trim(long now, bool all)
        {
            lock (_lock)
            {
                if (all || now - _lastRent >= IdleMilliseconds)
                {
                    var keep = all ? 0 : _count / 2;
                    Array.Clear(_arrays, keep, _count - keep);
                    _count = keep;
                }
            }
        }
    }

    // Finalized once per gen 2 collection (it is unreachable and re-registers itself), the same
    // signal the runtime's own array pool trims on.
    private sealed class Trimmer
    {
        ~Trimmer()
        {
            if (Environment.HasShutdownStarted)
            {
                return;
            }
            Trim();
            GC.ReRegisterForFinalize(this);
        }
    }
}
