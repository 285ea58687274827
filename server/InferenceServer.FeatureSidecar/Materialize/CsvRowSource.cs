using nietras.SeparatedValues;

namespace InferenceServer.FeatureSidecar.Materialize;

/// <summary>A CSV file with a header row, read with Sep; cells are trimmed, and an empty cell is a missing value.</summary>
internal sealed class CsvRowSource : IRowSource
{
    private readonly FileStream _file;
    private readonly SepReader _reader;
    private readonly int[] _columns;
    private readonly string _path;
    private readonly int _headerCells;
    private int _line;

    private CsvRowSource(string path, FileStream file, SepReader reader, int[] columns)
    {
        _path = path;
        _file = file;
        _reader = reader;
        _columns = columns;
        _headerCells = reader.Header.ColNames.Count;
    }

    public static CsvRowSource Open(string path, IReadOnlyList<string> columns)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        SepReader? reader = null;
        try
        {
            // Rows may be short (counted as bad rows, not a failed run), so Sep's own column-count check is off.
            reader = Sep.Reader(o => o with { Unescape = true, DisableColCountCheck = true }).From(file);
            var names = reader.Header.ColNames;
            var indices = new int[columns.Count];
            for (var i = 0; i < columns.Count; i++)
            {
                indices[i] = IndexOf(names, columns[i]);
                if (indices[i] < 0)
                {
                    throw new MaterializeException($"{path} has no column '{columns[i]}'; its columns are {string.Join(", ", names)}");
                }
            }
            return new CsvRowSource(path, file, reader, indices);
        }
        catch
        {
            reader?.Dispose();
            file.Dispose();
            throw;
        }
    }

    private static int IndexOf(IReadOnlyList<string> names, string column)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (names[i].Trim() == column)
            {
                return i;
            }
        }
        return -1;
    }

    public double Progress => _file.Length == 0 ? 1 : (double)_file.Position / _file.Length;

    public string Where => $"{_path}:{_line}";

    public string? RowProblem { get; private set; }

    public ValueTask<bool> ReadAsync(string?[] cells, CancellationToken cancellationToken)
    {
        if (!_reader.MoveNext())
        {
            return new ValueTask<bool>(false);
        }
        var row = _reader.Current;
        _line = row.LineNumberFrom;
        RowProblem = row.ColCount < _headerCells ? $"the row has {row.ColCount} cells; the header has {_headerCells}" : null;
        for (var i = 0; i < _columns.Length; i++)
        {
            if (_columns[i] >= row.ColCount)
            {
                cells[i] = null;
                continue;
            }
            var text = row[_columns[i]].Span.Trim();
            cells[i] = text.Length == 0 ? null : text.ToString();
        }
        return new ValueTask<bool>(true);
    }

    public async ValueTask DisposeAsync()
    {
        _reader.Dispose();
        await _file.DisposeAsync().ConfigureAwait(false);
    }
}
