using System.Buffers.Binary;
using System.Text.Unicode;

namespace InferenceServer.Core.Tensors;

/// <summary>
/// The layout of BYTES tensors in <see cref="Tensor.Data"/>: per element a 4-byte little-endian
/// unsigned length followed by that many bytes (the v2 binary extension's layout).
/// </summary>
public static class BytesTensorLayout
{
    /// <summary>Size of the length prefix of each element.</summary>
    public const int PrefixSize = 4;

    /// <summary>
    /// Counts the elements in <paramref name="data"/>; returns false with a reason when a length
    /// prefix is cut short or points past the end.
    /// </summary>
    public static bool TryCountElements(ReadOnlySpan<byte> data, out long count, out string? error)
    {
        count = 0;
        var offset = 0;
        while (offset < data.Length)
        {
            if (data.Length - offset < PrefixSize)
            {
                error = $"element {count} has a truncated 4-byte length prefix ({data.Length - offset} bytes left)";
                return false;
            }
            var length = BinaryPrimitives.ReadUInt32LittleEndian(data[offset..]);
            offset += PrefixSize;
            if (length > (uint)(data.Length - offset))
            {
                error = $"element {count} declares {length} bytes but only {data.Length - offset} remain";
                return false;
            }
            offset += (int)length;
            count++;
        }
        error = null;
        return true;
    }

    /// <summary>The index of the first element of well-formed BYTES data that is not valid UTF-8 text; -1 when every one is.</summary>
    public static long FirstNotUtf8(ReadOnlySpan<byte> data)
    {
        var index = 0L;
        foreach (var element in Elements(data))
        {
            if (!Utf8.IsValid(element))
            {
                return index;
            }
            index++;
        }
        return -1;
    }

    /// <summary>Walks the elements of well-formed BYTES data (check it first with <see cref="TryCountElements"/>).</summary>
    public static Enumerator Elements(ReadOnlySpan<byte> data) => new(data);

    /// <summary>Writes one element (prefix + bytes) at the start of <paramref name="destination"/>; returns bytes written.</summary>
    public static int WriteElement(Span<byte> destination, ReadOnlySpan<byte> element)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)element.Length);
        element.CopyTo(destination[PrefixSize..]);
        return PrefixSize + element.Length;
    }

    /// <summary>Enumerates element payloads without allocating.</summary>
    public ref struct Enumerator(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _offset;

        /// <summary>The current element's bytes.</summary>
        public ReadOnlySpan<byte> Current { get; private set; }

        /// <summary>Lets <c>foreach</c> use the struct directly.</summary>
        public readonly Enumerator GetEnumerator() => this;

        /// <summary>Advances to the next element.</summary>
        public bool MoveNext()
        {
            if (_offset >= _data.Length)
            {
                return false;
            }
            var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(_data[_offset..]);
            Current = _data.Slice(_offset + PrefixSize, length);
            _offset += PrefixSize + length;
            return true;
        }
    }
}
