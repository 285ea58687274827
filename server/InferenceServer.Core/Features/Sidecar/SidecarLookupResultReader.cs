using System.Buffers;

namespace InferenceServer.Core.Features.Sidecar;

/// <summary>
/// Reads a lookup result, <c>[2, id, status, message, [[stored_at_unix_ms, [value|nil...]]...]]</c>, row by row with
/// no intermediate objects: the header on construction, then <see cref="TryReadRow"/> and that row's values with
/// <see cref="ReadValue"/>. Malformed input throws <see cref="SidecarProtocolException"/>.
/// </summary>
public ref struct SidecarLookupResultReader
{
    private SidecarBodyReader _reader;
    private int _rowsLeft;
    private int _valuesLeft;
    private byte[]? _joined;

    /// <summary>Reads the result's header: <see cref="Id"/>, <see cref="Status"/>, <see cref="Message"/>, <see cref="RowCount"/>.</summary>
    public SidecarLookupResultReader(ReadOnlySequence<byte> body)
    {
        _reader = new SidecarBodyReader(body, "a lookup result");
        _reader.ReadEnvelope(5, SidecarMessages.LookupResultShape);
        SidecarMessages.ExpectKind(ref _reader, SidecarMessageKind.LookupResult, "a lookup result");
        Id = _reader.ReadUInt32("element 1 (the id)");
        var status = _reader.ReadByte("element 2 (the status)");
        if (status > (byte)SidecarStatus.Overloaded)
        {
            throw new SidecarProtocolException($"a lookup result has status {status}; expected 0 (ok), 1 (deadline exceeded), 2 (store unavailable), 3 (bad request) or 4 (overloaded)");
        }
        Status = (SidecarStatus)status;
        Message = _reader.ReadString("element 3 (the message)");
        RowCount = _reader.ReadArrayHeader("element 4 (the rows)");
        _rowsLeft = RowCount;
        if (_rowsLeft == 0)
        {
            _reader.ExpectEnd();
        }
    }

    /// <summary>The id of the lookup this answers.</summary>
    public uint Id { get; }

    /// <summary>The lookup's outcome.</summary>
    public SidecarStatus Status { get; }

    /// <summary>Why the lookup failed; empty when it did not.</summary>
    public string Message { get; }

    /// <summary>How many rows follow (one per key for <see cref="SidecarStatus.Ok"/>).</summary>
    public int RowCount { get; }

    /// <summary>
    /// Moves to the next row: true with when its entity was written (unix milliseconds; 0 = not found) and how many
    /// values it has; false after the last row. The previous row's values must all have been read.
    /// </summary>
    public bool TryReadRow(out long storedAtUnixMilliseconds, out int valueCount)
    {
        if (_valuesLeft != 0)
        {
            throw new InvalidOperationException($"the previous row still has {_valuesLeft} values to read");
        }
        if (_rowsLeft == 0)
        {
            storedAtUnixMilliseconds = 0;
            valueCount = 0;
            return false;
        }
        var pair = _reader.ReadArrayHeader("a row");
        if (pair != 2)
        {
            throw new SidecarProtocolException($"a row of a lookup result has {pair} elements; expected 2: [stored_at_unix_ms, [value|nil...]]");
        }
        storedAtUnixMilliseconds = _reader.ReadInt64("a row's stored_at_unix_ms");
        valueCount = _reader.ReadArrayHeader("a row's values");
        _rowsLeft--;
        _valuesLeft = valueCount;
        EndIfDone();
        return true;
    }

    /// <summary>
    /// Reads the current row's next value: true with the stored text's UTF-8 bytes (valid until the next read), or
    /// false when the entity has no such field.
    /// </summary>
    public bool ReadValue(out ReadOnlySpan<byte> utf8)
    {
        if (_valuesLeft == 0)
        {
            throw new InvalidOperationException("the row has no more values");
        }
        _valuesLeft--;
        if (!_reader.TryReadBinary("a value", out var bytes))
        {
            utf8 = default;
            EndIfDone();
            return false;
        }
        if (bytes.IsSingleSegment)
        {
            utf8 = bytes.FirstSpan;
        }
        else
        {
            // A value that straddles two of the pipe's segments: joined into a buffer this reader keeps for the next.
            if (_joined is null || _joined.Length < bytes.Length)
            {
                _joined = new byte[Math.Max((int)bytes.Length, 256)];
            }
            bytes.CopyTo(_joined);
            utf8 = _joined.AsSpan(0, (int)bytes.Length);
        }
        EndIfDone();
        return true;
    }

    private void EndIfDone()
    {
        if (_rowsLeft == 0 && _valuesLeft == 0)
        {
            _reader.ExpectEnd();
        }
    }
}
