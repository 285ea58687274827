namespace InferenceServer.Core.Features.Sidecar;

/// <summary>
/// What one lookup got: its status and, when <see cref="SidecarLookupStatus.Ok"/>, one row per key it asked for (in
/// the same order) with each asked field's stored value. Dispose it once read: the values live in a pooled buffer.
/// </summary>
public sealed class SidecarLookupResult : IDisposable
{
    private readonly SidecarAnswer? _answer;
    private readonly int _firstRow;
    private int _disposed;

    /// <summary>A lookup that failed: <paramref name="message"/> says why, naming the sidecar.</summary>
    internal SidecarLookupResult(SidecarLookupStatus status, string message)
    {
        Status = status;
        Message = message;
    }

    /// <summary>A lookup answered: rows <paramref name="firstRow"/> on of <paramref name="answer"/> (which it holds) are its own.</summary>
    internal SidecarLookupResult(SidecarAnswer answer, int firstRow, int rows)
    {
        _answer = answer;
        _firstRow = firstRow;
        Rows = rows;
        Status = SidecarLookupStatus.Ok;
        Message = "";
    }

    /// <summary>How the lookup ended.</summary>
    public SidecarLookupStatus Status { get; }

    /// <summary>Why it failed (empty when it did not).</summary>
    public string Message { get; }

    /// <summary>One row per key asked for; 0 when the lookup failed.</summary>
    public int Rows { get; }

    /// <summary>When the entity of <paramref name="row"/> was written to the store (unix milliseconds); 0 when the store has no such entity.</summary>
    public long StoredAt(int row) => _answer!.StoredAt(_firstRow + Check(row));

    /// <summary>The stored value (UTF-8 text) of field <paramref name="field"/> for <paramref name="row"/>; false when the store has none.</summary>
    public bool TryGetValue(int row, int field, out ReadOnlySpan<byte> utf8) => _answer!.TryGetValue(_firstRow + Check(row), field, out utf8);

    private int Check(int row) => (uint)row < (uint)Rows ? row : throw new ArgumentOutOfRangeException(nameof(row), row, $"the lookup has {Rows} rows");

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _answer?.Release();
        }
    }
}
