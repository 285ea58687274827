using InferenceServer.Core.Features;
using nietras.SeparatedValues;

namespace InferenceServer.Hosting;

/// <summary>
/// Raw records of a CSV file with a header row, read with Sep into a view's <see cref="FeatureRows"/>, a batch at a time:
/// a column whose header names one of the view's fields fills it (as text; the view parses numbers invariantly), an
/// empty cell is a missing value, other columns are ignored.
/// </summary>
internal sealed class ProfileCsvRecords : IDisposable
{
    private readonly SepReader _reader;
    private readonly int[] _fields;
    private readonly int[] _columns;
    private char[] _chars = new char[1 << 16];
    private int[] _starts = [];
    private int[] _lengths = [];

    private ProfileCsvRecords(SepReader reader, int[] columns, int[] fields)
    {
        _reader = reader;
        _columns = columns;
        _fields = fields;
    }

    /// <summary>The data rows read so far.</summary>
    public long RowsRead { get; private set; }

    /// <summary>Opens <paramref name="path"/> for <paramref name="view"/>; throws <see cref="ProfileException"/> when no column names a field.</summary>
    public static ProfileCsvRecords Open(string path, FeatureView view)
    {
        var reader = Sep.Reader(o => o with { Unescape = true, DisableColCountCheck = true }).FromFile(path);
        try
        {
            var names = reader.Header.ColNames;
            var columns = new List<int>();
            var fields = new List<int>();
            for (var c = 0; c < names.Count; c++)
            {
                if (view.TryGetField(names[c].Trim(), out var field))
                {
                    columns.Add(c);
                    fields.Add(field);
                }
            }
            if (columns.Count == 0)
            {
                throw new ProfileException(
                    $"{path}: no column is a field of feature view '{view.Name}' (its fields are {string.Join(", ", view.Fields)}; the file's columns are {string.Join(", ", names)})");
            }
            return new ProfileCsvRecords(reader, [.. columns], [.. fields]);
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    /// <summary>Reads up to <paramref name="maxRows"/> records into rows rented from <paramref name="view"/>; null at the end.</summary>
    public FeatureRows? Read(FeatureView view, int maxRows)
    {
        // The cells are gathered first: the rows are rented for the batch's count, known only at its end.
        if (_starts.Length < maxRows * _fields.Length)
        {
            _starts = new int[maxRows * _fields.Length];
            _lengths = new int[maxRows * _fields.Length];
        }
        var used = 0;
        var count = 0;
        while (count < maxRows && _reader.MoveNext())
        {
            var record = _reader.Current;
            for (var i = 0; i < _columns.Length; i++)
            {
                var at = count * _fields.Length + i;
                var cell = _columns[i] < record.ColCount ? record[_columns[i]].Span.Trim() : default;
                if (used + cell.Length > _chars.Length)
                {
                    Array.Resize(ref _chars, Math.Max(_chars.Length * 2, used + cell.Length));
                }
                cell.CopyTo(_chars.AsSpan(used));
                _starts[at] = used;
                _lengths[at] = cell.Length;
                used += cell.Length;
            }
            count++;
        }
        if (count == 0)
        {
            return null;
        }
        RowsRead += count;
        var rows = view.RentRows(count);
        for (var row = 0; row < count; row++)
        {
            for (var i = 0; i < _fields.Length; i++)
            {
                var at = row * _fields.Length + i;
                // An empty cell is a missing value: it stays missing.
                if (_lengths[at] > 0)
                {
                    rows.SetText(row, _fields[i], _chars.AsSpan(_starts[at], _lengths[at]));
                }
            }
        }
        return rows;
    }

    /// <inheritdoc />
    public void Dispose() => _reader.Dispose();
}
