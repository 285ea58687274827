using System.Buffers;
using System.Text;
using System.Text.Json;

namespace InferenceServer.Core.Scoring;

/// <summary>
/// The lines of a JSONL split, each one JSON object: a number is a number, a string a text, true and false 1 and 0,
/// null missing, and an array its JSON text (a model input of several values). A line that is not an object is
/// malformed; a blank line is no row. Row numbers are line numbers.
/// </summary>
internal sealed class JsonLinesRecordReader : RecordReader
{
    private readonly InputSplit _split;
    private readonly Stream _window;
    private readonly Dictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _columns;
    private readonly long _begin;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
    private int _start;
    private int _end;
    private bool _eof;
    private long _lines;
    private char[] _name = new char[256];
    private IReadOnlyList<string>? _fileColumns;

    private JsonLinesRecordReader(InputSplit split, Stream window, IReadOnlyList<string> columns, long begin)
    {
        _split = split;
        _window = window;
        _begin = begin;
        // A name asked for twice (a key column that is also a field) fills both columns.
        var index = new Dictionary<string, int[]>(StringComparer.Ordinal);
        for (var i = 0; i < columns.Count; i++)
        {
            index[columns[i]] = index.TryGetValue(columns[i], out var earlier) ? [.. earlier, i] : [i];
        }
        _columns = index.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public override InputSplit Split => _split;

    public override IReadOnlyList<string> FileColumns => _fileColumns ??= FirstRowKeys(_split.Path);

    public static JsonLinesRecordReader Open(InputSplit split, IReadOnlyList<string> columns)
    {
        var file = new FileStream(split.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        try
        {
            var (begin, end) = LineRange.Align(file, split.Start, split.Length, 0);
            return new JsonLinesRecordReader(split, new RangeStream(file, begin, end), columns, begin);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }


    public override async ValueTask<bool> ReadAsync(RecordBatch batch, int maxRows, CancellationToken cancellationToken)
    {
        batch.Reset(maxRows);
        while (batch.Count < maxRows)
        {
            var newline = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (newline < 0)
            {
                if (_eof)
                {
                    if (_end > _start)
                    {
                        ReadLine(batch, _buffer.AsSpan(_start, _end - _start));
                        _start = _end;
                    }
                    break;
                }
                await FillAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }
            ReadLine(batch, _buffer.AsSpan(_start, newline));
            _start += newline + 1;
        }
        return batch.Count > 0;
    }

    private async ValueTask FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length)
        {
            // A line longer than the buffer: grow it.
            var grown = ArrayPool<byte>.Shared.Rent(_buffer.Length * 2);
            _buffer.AsSpan(0, _end).CopyTo(grown);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = grown;
        }
        var read = await _window.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
        _end += read;
        _eof = read == 0;
    }

    private void ReadLine(RecordBatch batch, ReadOnlySpan<byte> line)
    {
        _lines++;
        if (line.Length > 0 && line[^1] == (byte)'\r')
        {
            line = line[..^1];
        }
        if (line.Trim(" \t"u8).Length == 0)
        {
            return;
        }
        var row = batch.AddRow(_lines);
        try
        {
            var reader = new Utf8JsonReader(line);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                batch.SetProblem(row, "the line is not a JSON object");
                return;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var targets = Columns(ref reader);
                reader.Read();
                if (targets is null)
                {
                    reader.Skip();
                    continue;
                }
                var column = targets[0];
                switch (reader.TokenType)
                {
                    case JsonTokenType.Number:
                        batch.Cells.SetNumber(column, row, reader.GetDouble());
                        break;
                    case JsonTokenType.String:
                        SetString(batch, column, row, ref reader);
                        break;
                    case JsonTokenType.True:
                        batch.Cells.SetNumber(column, row, 1);
                        break;
                    case JsonTokenType.False:
                        batch.Cells.SetNumber(column, row, 0);
                        break;
                    case JsonTokenType.Null:
                        break;
                    default:
                        // An array (or object): its JSON text, for an input of several values.
                        var from = (int)reader.TokenStartIndex;
                        reader.Skip();
                        var text = line[from..(int)(reader.TokenStartIndex + 1)];
                        batch.Cells.SetText(column, row, text);
                        break;
                }
                for (var t = 1; t < targets.Length; t++)
                {
                    batch.Cells.CopyCell(batch.Cells, column, row, targets[t], row);
                }
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                batch.SetProblem(row, "the line is not one JSON object");
            }
        }
        catch (JsonException e)
        {
            batch.SetProblem(row, $"the line is not valid JSON: {e.Message}");
        }
    }

    private int[]? Columns(ref Utf8JsonReader reader)
    {
        var length = reader.HasValueSequence ? (int)reader.ValueSequence.Length : reader.ValueSpan.Length;
        if (_name.Length < length)
        {
            _name = new char[length * 2];
        }
        var written = reader.CopyString(_name);
        return _columns.TryGetValue(_name.AsSpan(0, written), out var columns) ? columns : null;
    }

    private void SetString(RecordBatch batch, int column, int row, ref Utf8JsonReader reader)
    {
        var length = reader.ValueSpan.Length;
        if (_name.Length < length)
        {
            _name = new char[length * 2];
        }
        var written = reader.CopyString(_name);
        var text = _name.AsSpan(0, written).Trim();
        if (text.Length > 0)
        {
            batch.Cells.SetText(column, row, text);
        }
    }

    private static string[] FirstRowKeys(string path)
    {
        using var file = new StreamReader(path, Encoding.UTF8);
        while (file.ReadLine() is { } line)
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            try
            {
                using var document = JsonDocument.Parse(line);
                return document.RootElement.ValueKind == JsonValueKind.Object ? [.. document.RootElement.EnumerateObject().Select(p => p.Name)] : [];
            }
            catch (JsonException)
            {
                return [];
            }
        }
        return [];
    }

    public override ValueTask DisposeAsync()
    {
        _window.Dispose();
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
        return ValueTask.CompletedTask;
    }
}
