using System.Buffers.Binary;

namespace InferenceServer.Core.Scoring;

/// <summary>
/// Decodes Parquet's RLE / bit-packed hybrid encoding (definition levels and dictionary indices) a run at a time, as
/// many values as asked: a run is a varint header whose low bit says bit-packed (groups of 8 values of the bit width,
/// least significant bit first) or repeated (a count and one value in the bit width rounded up to whole bytes).
/// Holds no values of its own: it walks the page's bytes.
/// </summary>
internal sealed class RleBitPackedDecoder
{
    private byte[] _bytes = [];
    private int _position;
    private int _end;
    private int _bitWidth;
    private uint _mask;
    private int _left;
    private bool _packed;
    private int _repeated;
    private long _bit;
    private long _bitEnd;

    /// <summary>Starts on <paramref name="bytes"/>[<paramref name="start"/>..<paramref name="end"/>), values <paramref name="bitWidth"/> bits wide.</summary>
    public void Reset(byte[] bytes, int start, int end, int bitWidth)
    {
        if (bitWidth is < 0 or > 32)
        {
            throw new InvalidDataException($"a bit width of {bitWidth} (expected 0 to 32)");
        }
        _bytes = bytes;
        _position = start;
        _end = end;
        _bitWidth = bitWidth;
        _mask = bitWidth == 32 ? uint.MaxValue : (1u << bitWidth) - 1;
        _left = 0;
    }

    /// <summary>Fills <paramref name="values"/> with the next values.</summary>
    /// <exception cref="InvalidDataException">The bytes end first or a run is malformed.</exception>
    public void Read(Span<int> values)
    {
        var done = 0;
        while (done < values.Length)
        {
            if (_left == 0)
            {
                NextRun();
            }
            var n = Math.Min(_left, values.Length - done);
            var target = values.Slice(done, n);
            if (!_packed)
            {
                target.Fill(_repeated);
            }
            else
            {
                Unpack(target);
            }
            _left -= n;
            done += n;
        }
    }

    private void NextRun()
    {
        if (_position >= _end)
        {
            throw new InvalidDataException("the encoded levels or indices end before the page's values do");
        }
        long header = 0;
        for (var shift = 0; ; shift += 7)
        {
            if (_position >= _end || shift > 35)
            {
                throw new InvalidDataException("a run header is cut short or too long");
            }
            var b = _bytes[_position++];
            header |= (long)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                break;
            }
        }
        if ((header & 1) == 1)
        {
            var groups = header >> 1;
            var bytes = groups * _bitWidth;
            if (groups == 0 || groups * 8 > int.MaxValue)
            {
                throw new InvalidDataException($"a bit-packed run of {groups} groups");
            }
            _packed = true;
            _left = (int)(groups * 8);
            _bit = (long)_position * 8;
            // A writer may end the last run short of its whole groups; only the values read must be there.
            _position = (int)Math.Min(_end, _position + bytes);
            _bitEnd = (long)_position * 8;
        }
        else
        {
            var count = header >> 1;
            if (count == 0 || count > int.MaxValue)
            {
                throw new InvalidDataException($"a repeated run of {count} values");
            }
            var width = (_bitWidth + 7) / 8;
            if (_position + width > _end)
            {
                throw new InvalidDataException("a repeated run's value is cut short");
            }
            uint value = 0;
            for (var i = 0; i < width; i++)
            {
                value |= (uint)_bytes[_position + i] << (8 * i);
            }
            _position += width;
            _packed = false;
            _left = (int)count;
            _repeated = (int)(value & _mask);
        }
    }

    private void Unpack(Span<int> target)
    {
        if (_bitWidth == 0)
        {
            target.Clear();
            return;
        }
        if (_bit + (long)target.Length * _bitWidth > _bitEnd)
        {
            throw new InvalidDataException("a bit-packed run is cut short");
        }
        var bytes = _bytes;
        var bit = _bit;
        var width = _bitWidth;
        var mask = _mask;
        // Whole 8-byte reads while they stay inside the array; the last few values byte by byte.
        var fastEnd = (long)(bytes.Length - 8) * 8;
        for (var i = 0; i < target.Length; i++)
        {
            var index = (int)(bit >> 3);
            var shift = (int)(bit & 7);
            ulong word;
            if (bit <= fastEnd)
            {
                word = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(index, 8));
            }
            else
            {
                word = 0;
                for (var b = 0; index + b < bytes.Length && b < 8; b++)
                {
                    word |= (ulong)bytes[index + b] << (8 * b);
                }
            }
            target[i] = (int)((uint)(word >> shift) & mask);
            bit += width;
        }
        _bit = bit;
    }
}
