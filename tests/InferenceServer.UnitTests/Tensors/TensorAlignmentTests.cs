using System.Buffers;
using System.Runtime;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using InferenceServer.Core.Tensors;

namespace InferenceServer.UnitTests.Tensors;

public sealed class TensorAlignmentTests
{
    private static readonly int[] Sizes = [1, 3, 63, 64, 65, 100, 232, 4096, 4097, 70_000, 1 << 20];

    [Fact]
    public void Every_fixed_size_tensor_starts_on_a_64_byte_boundary()
    {
        var held = new List<Tensor>();
        try
        {
            foreach (var size in Sizes)
            {
                // Several at once, so they come from different arrays.
                for (var i = 0; i < 4; i++)
                {
                    held.Add(Tensor.Allocate("a", DataType.Fp32, [size], size));
                    held.Add(Tensor.Copy("c", DataType.UInt8, [size], new byte[size]));
                    held.Add(Tensor.Adopt("d", DataType.Int64, [size], ArrayPool<byte>.Shared.Rent(size), size));
                }
            }
            var original = Tensor.Allocate("original", DataType.Int32, [8], 32);
            held.Add(original.Rename("renamed", [2, 4]));
            foreach (var tensor in held)
            {
                if (tensor.ByteLength > 0)
                {
                    Assert.Equal(0, Address(tensor) % AlignedBufferPool.Alignment);
                }
            }
        }
        finally
        {
            foreach (var tensor in held)
            {
                tensor.Dispose();
            }
        }
    }

    [Fact]
    public void A_tensor_buffer_stays_where_it_is_across_a_compacting_collection()
    {
        using var tensor = Tensor.Allocate("x", DataType.Fp32, [1000], 4000);
        var before = Address(tensor);
        for (var i = 0; i < 1000; i++)
        {
            _ = new byte[1000];
        }
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        Assert.Equal(before, Address(tensor));
    }

    [Fact]
    public void Bytes_tensors_keep_the_shared_array_pool()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(10);
        using var adopted = Tensor.Adopt("s", DataType.Bytes, [1], buffer, 10);
        Assert.True(MemoryMarshal.TryGetArray<byte>(adopted.Memory, out var segment));
        Assert.Same(buffer, segment.Array);
        Assert.Equal(0, segment.Offset);
    }

    [Fact]
    public void Adopting_a_fixed_size_tensor_copies_it_into_aligned_memory()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(16);
        for (var i = 0; i < 16; i++)
        {
            buffer[i] = (byte)i;
        }
        using var tensor = Tensor.Adopt("f", DataType.Fp32, [4], buffer, 16);
        Assert.Equal(0, Address(tensor) % AlignedBufferPool.Alignment);
        Assert.Equal(Enumerable.Range(0, 16).Select(i => (byte)i).ToArray(), tensor.Data.ToArray());
    }

    [Fact]
    public void A_returned_buffer_is_reused()
    {
        // An odd size whose bucket (4 MiB) the other tests do not use.
        const int Size = 3_000_000;
        var first = Tensor.Allocate("x", DataType.UInt8, [Size], Size);
        Assert.True(MemoryMarshal.TryGetArray<byte>(first.Memory, out var segment));
        first.Dispose();
        // Another test may take it first; ask a few times.
        var seen = false;
        var held = new List<Tensor>();
        for (var i = 0; i < 50 && !seen; i++)
        {
            var next = Tensor.Allocate("y", DataType.UInt8, [Size], Size);
            held.Add(next);
            seen = MemoryMarshal.TryGetArray<byte>(next.Memory, out var again) && ReferenceEquals(again.Array, segment.Array);
        }
        foreach (var tensor in held)
        {
            tensor.Dispose();
        }
        Assert.True(seen);
    }

    [Fact]
    public void A_bucket_left_unused_for_a_minute_gives_its_buffers_back()
    {
        // A size class (8 MiB) no other test uses.
        var array = RentAndReturn(6_000_000);
        // Full collections alone do not take the buffer from a bucket in use (here: rented from just now) ...
        AlignedBufferPool.Trim(Environment.TickCount64, pressed: false);
        Collect();
        Assert.True(array.IsAlive);
        // ... a minute without a rent does: the bucket's only buffer goes (half of one, rounded down).
        AlignedBufferPool.Trim(Environment.TickCount64 + AlignedBufferPool.IdleMilliseconds, pressed: false);
        Collect();
        Assert.False(array.IsAlive);
    }

    private static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference RentAndReturn(int size)
    {
        using var tensor = Tensor.Allocate("x", DataType.UInt8, [size], size);
        Assert.True(MemoryMarshal.TryGetArray<byte>(tensor.Memory, out var segment));
        return new WeakReference(segment.Array);
    }

    private static unsafe long Address(Tensor tensor) => (long)Unsafe.AsPointer(ref MemoryMarshal.GetReference(tensor.Data));
}
