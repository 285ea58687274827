using System.Buffers;
using MessagePack;

namespace InferenceServer.Core.Features.Sidecar;

/// <summary>
/// Writes a successful lookup result, <c>[2, id, 0, "", [[stored_at_unix_ms, [value|nil...]]...]]</c>, row by row with
/// no intermediate objects: <see cref="BeginRow"/> then that row's values (<see cref="WriteValue"/> or
/// <see cref="WriteMissing"/>), for exactly the number of rows announced; <see cref="Complete"/> then writes the frame.
/// Finish (or <see cref="Dispose"/>) before beginning another frame on the same thread.
/// </summary>
public ref struct SidecarLookupResultWriter
{
    private readonly IBufferWriter<byte> _output;
    private readonly ArrayBufferWriter<byte> _buffer;
    private MessagePackWriter _writer;
    private int _rowsLeft;
    private int _valuesLeft;
    private bool _done;

    /// <summary>Begins the result of lookup <paramref name="id"/>, which has <paramref name="rowCount"/> rows (one per key).</summary>
    public SidecarLookupResultWriter(IBufferWriter<byte> output, uint id, int rowCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rowCount);
        _output = output;
        _buffer = SidecarScratch.Rent();
        _writer = new MessagePackWriter(_buffer);
        _writer.WriteArrayHeader(5);
        _writer.Write((byte)SidecarMessageKind.LookupResult);
        _writer.Write(id);
        _writer.Write((byte)SidecarStatus.Ok);
        _writer.Write(string.Empty);
        _writer.WriteArrayHeader(rowCount);
        _rowsLeft = rowCount;
    }

    /// <summary>
    /// Begins the next row: when its entity was written (unix milliseconds; 0 = the entity was not found) and how many
    /// values follow (the lookup's field count; 0 for an entity not found).
    /// </summary>
    public void BeginRow(long storedAtUnixMilliseconds, int valueCount)
    {
        if (_rowsLeft == 0 || _valuesLeft != 0)
        {
            throw new InvalidOperationException(_rowsLeft == 0 ? "every announced row is written already" : "the previous row still lacks values");
        }
        _rowsLeft--;
        _valuesLeft = valueCount;
        _writer.WriteArrayHeader(2);
        _writer.Write(storedAtUnixMilliseconds);
        _writer.WriteArrayHeader(valueCount);
    }

    /// <summary>Writes the row's next value: the stored text's UTF-8 bytes.</summary>
    public void WriteValue(ReadOnlySpan<byte> utf8)
    {
        TakeValue();
        _writer.Write(utf8);
    }

    /// <summary>Writes the row's next value as absent (the entity has no such field).</summary>
    public void WriteMissing()
    {
        TakeValue();
        _writer.WriteNil();
    }

    /// <summary>Writes the whole frame to the output.</summary>
    public void Complete()
    {
        if (_rowsLeft != 0 || _valuesLeft != 0)
        {
            throw new InvalidOperationException($"the result is not complete: {_rowsLeft} rows and {_valuesLeft} values of the current row are missing");
        }
        _writer.Flush();
        _done = true;
        SidecarScratch.FrameAndReturn(_buffer, _output);
    }

    /// <summary>Gives the encoding buffer back when the result was abandoned before <see cref="Complete"/>.</summary>
    public void Dispose()
    {
        if (!_done)
        {
            _done = true;
            SidecarScratch.Return(_buffer);
        }
    }

    private void TakeValue()
    {
        if (_valuesLeft == 0)
        {
            throw new InvalidOperationException("the row has all its values already");
        }
        _valuesLeft--;
    }
}
