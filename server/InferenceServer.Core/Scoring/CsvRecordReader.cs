using nietras.SeparatedValues;

namespace InferenceServer.Core.Scoring;

/// <summary>
/// The data lines of a CSV split, parsed with Sep: the header (read once per file, from its first line) names the
/// columns; cells are trimmed, and an empty cell is missing. Every cell is text; a view or the input mapping parses
/// numbers invariantly. A row with fewer cells than the header is malformed.
/// </summary>
internal sealed class CsvRecordReader : RecordReader
{
    private readonly InputSplit _split;
    private readonly SepReader _reader;
    private readonly int[] _columns;
    private readonly string[] _header;
    private readonly long _begin;
    private readonly Stream _window;
    private long _rows;

    private CsvRecordReader(InputSplit split, SepReader reader, Stream window, int[] columns, string[] header, long begin)
    {
        _window = window;
        _split = split;
        _reader = reader;
        _columns = columns;
        _header = header;
        _begin = begin;
    }

    public override InputSplit Split => _split;

    public override IReadOnlyList<string> FileColumns => _header;

    public static CsvRecordReader Open(InputSplit split, IReadOnlyList<string> columns)
    {
        var (header, separator, headerEnd) = ReadHeader(split.Path);
        var indices = new int[columns.Count];
        for (var i = 0; i < columns.Count; i++)
        {
            indices[i] = Array.IndexOf(header, columns[i]);
        }
        var file = new FileStream(split.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        try
        {
            var (begin, end) = LineRange.Align(file, split.Start, split.Length, headerEnd);
            var window = new RangeStream(file, begin, end);
            var reader = Sep.Reader(o => o with { Sep = new Sep(separator), HasHeader = false, Unescape = true, DisableColCountCheck = true }).From(window);
            return new CsvRecordReader(split, reader, window, indices, header, begin);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    // The header's names (trimmed), its separator (Sep detects it), and where the first data line starts.
    private static (string[] Header, char Separator, long HeaderEnd) ReadHeader(string path)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 12);
        var headerEnd = LineRange.NextLineStart(file, 1);
        using var window = new RangeStream(file, 0, headerEnd);
        using var reader = Sep.Reader(o => o with { Unescape = true, DisableColCountCheck = true }).From(window);
        var names = reader.Header.ColNames;
        if (names.Count == 0)
        {
            throw new ScoreException($"'{path}' has no header line: a CSV to score starts with the column names");
        }
        var header = new string[names.Count];
        for (var i = 0; i < header.Length; i++)
        {
            header[i] = names[i].Trim();
        }
        return (header, reader.Spec.Sep.Separator, headerEnd);
    }


    public override ValueTask<bool> ReadAsync(RecordBatch batch, int maxRows, CancellationToken cancellationToken)
    {
        batch.Reset(maxRows);
        var cells = batch.Cells;
        while (batch.Count < maxRows && _reader.MoveNext())
        {
            var source = _reader.Current;
            if (source.Span.IsWhiteSpace())
            {
                // A blank line (a trailing one, say) is no row.
                _rows++;
                continue;
            }
            var row = batch.AddRow(++_rows);
            if (source.ColCount < _header.Length)
            {
                batch.SetProblem(row, $"the row has {source.ColCount} cells; the header has {_header.Length}");
            }
            for (var c = 0; c < _columns.Length; c++)
            {
                var index = _columns[c];
                if (index < 0 || index >= source.ColCount)
                {
                    continue;
                }
                var text = source[index].Span.Trim();
                if (text.Length > 0)
                {
                    cells.SetText(c, row, text);
                }
            }
        }
        return ValueTask.FromResult(batch.Count > 0);
    }

    public override ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _window.Dispose();
        return ValueTask.CompletedTask;
    }
}
