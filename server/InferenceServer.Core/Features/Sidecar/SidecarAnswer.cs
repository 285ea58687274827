using System.Buffers;

namespace InferenceServer.Core.Features.Sidecar;

/// <summary>
/// The rows of one ok lookup answer, copied out of the connection's buffer (which the read loop reuses at once) into
/// pooled arrays: each row's stored_at and where each value lies. The lookups coalesced into the answer's frame each
/// read their own rows from it, and the last to let go returns the arrays.
/// </summary>
internal sealed class SidecarAnswer
{
    private byte[] _values;
    private readonly long[] _storedAt;
    private readonly int[] _starts;
    private readonly int[] _lengths;
    private readonly int _fields;
    private int _holders;

    private SidecarAnswer(int rows, int fields, int holders)
    {
        _values = ArrayPool<byte>.Shared.Rent(256);
        _storedAt = ArrayPool<long>.Shared.Rent(Math.Max(rows, 1));
        _starts = ArrayPool<int>.Shared.Rent(Math.Max(rows * fields, 1));
        _lengths = ArrayPool<int>.Shared.Rent(Math.Max(rows * fields, 1));
        _fields = fields;
        _holders = holders;
    }

    /// <summary>
    /// Reads the rows of <paramref name="result"/> (whose header is read): exactly <paramref name="rows"/> rows of
    /// <paramref name="fields"/> values each (a row not found may have none), else a <see cref="SidecarProtocolException"/>.
    /// <paramref name="holders"/> lookups will each <see cref="Release"/> it.
    /// </summary>
    public static SidecarAnswer Read(ref SidecarLookupResultReader result, int rows, int fields, int holders)
    {
        if (result.RowCount != rows)
        {
            throw new SidecarProtocolException($"the answer has {result.RowCount} rows for {rows} keys");
        }
        var answer = new SidecarAnswer(rows, fields, holders);
        try
        {
            var used = 0;
            for (var row = 0; result.TryReadRow(out var storedAt, out var count); row++)
            {
                answer._storedAt[row] = storedAt;
                // An entity not found may come without values; otherwise a row has one value per field.
                if (count != fields && !(storedAt == 0 && count == 0))
                {
                    throw new SidecarProtocolException($"row {row} has {count} values for {fields} fields");
                }
                for (var field = 0; field < fields; field++)
                {
                    var slot = row * fields + field;
                    if (field >= count || !result.ReadValue(out var value))
                    {
                        answer._starts[slot] = -1;
                        continue;
                    }
                    if (used + value.Length > answer._values.Length)
                    {
                        var grown = ArrayPool<byte>.Shared.Rent(Math.Max(answer._values.Length * 2, used + value.Length));
                        answer._values.AsSpan(0, used).CopyTo(grown);
                        ArrayPool<byte>.Shared.Return(answer._values);
                        answer._values = grown;
                    }
                    value.CopyTo(answer._values.AsSpan(used));
                    answer._starts[slot] = used;
                    answer._lengths[slot] = value.Length;
                    used += value.Length;
                }
            }
            return answer;
        }
        catch
        {
            answer._holders = 1;
            answer.Release();
            throw;
        }
    }

    /// <summary>When row <paramref name="row"/>'s values were written (unix milliseconds); 0 when the store has no such entity.</summary>
    public long StoredAt(int row) => _storedAt[row];

    /// <summary>The stored UTF-8 value of <paramref name="field"/> of <paramref name="row"/>; false when the store has none.</summary>
    public bool TryGetValue(int row, int field, out ReadOnlySpan<byte> utf8)
    {
        var slot = row * _fields + field;
        var start = _starts[slot];
        if (start < 0)
        {
            utf8 = default;
            return false;
        }
        utf8 = _values.AsSpan(start, _lengths[slot]);
        return true;
    }

    /// <summary>One holder is done with it; the last one returns the arrays.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _holders) != 0)
        {
            return;
        }
        ArrayPool<byte>.Shared.Return(_values);
        ArrayPool<long>.Shared.Return(_storedAt);
        ArrayPool<int>.Shared.Return(_starts);
        ArrayPool<int>.Shared.Return(_lengths);
    }
}
