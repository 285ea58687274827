using System.Buffers;
using System.Runtime.InteropServices;

namespace InferenceServer.Protocols.Buffers;

/// <summary>
/// A growing buffer in native memory, for request bytes too large for a shared pool: freed, it goes back to the
/// operating system at once (glibc maps blocks this large on their own, and grows them by remapping, without a copy),
/// where a large managed array would wait for a full collection and a pooled one would be kept for good.
/// </summary>
internal sealed class NativeBuffer : IDisposable
{
    private nint _memory;
    private long _capacity;

    /// <summary>The bytes written so far.</summary>
    public int Length { get; private set; }

    /// <summary>The written bytes, which may still be changed.</summary>
    public Span<byte> Written => At(0, Length);

    /// <summary>Room for at least <paramref name="count"/> more bytes (growing by doubling), to fill and then <see cref="Advance"/>.</summary>
    public Span<byte> GetSpan(int count)
    {
        var needed = (long)Length + count;
        if (needed > _capacity)
        {
            Grow(Math.Min(Array.MaxLength, Math.Max(needed, _capacity * 2)));
        }
        return At(Length, count);
    }

    /// <summary>Grows to hold <paramref name="capacity"/> bytes in all, when it holds fewer.</summary>
    public void Grow(long capacity)
    {
        if (capacity > Array.MaxLength)
        {
            throw new InvalidOperationException($"a buffer holds at most {Array.MaxLength} bytes");
        }
        if (capacity > _capacity)
        {
            _memory = Reallocate(_memory, capacity);
            _capacity = capacity;
        }
    }

    /// <summary>Counts <paramref name="count"/> bytes of the last <see cref="GetSpan"/> as written.</summary>
    public void Advance(int count) => Length += count;

    public void Dispose()
    {
        if (_memory != 0)
        {
            Free(_memory);
            _memory = 0;
        }
        _capacity = 0;
        Length = 0;
    }

    /// <summary>The address of the byte at <paramref name="offset"/>: native memory never moves, so nothing needs pinning.</summary>
    public unsafe MemoryHandle Pin(int offset) => new((byte*)_memory + offset);

    private unsafe Span<byte> At(int offset, int count) => _memory == 0 ? [] : new((byte*)_memory + offset, count);

    private static unsafe nint Reallocate(nint memory, long bytes) => (nint)NativeMemory.Realloc((void*)memory, (nuint)bytes);

    private static unsafe void Free(nint memory) => NativeMemory.Free((void*)memory);
}
