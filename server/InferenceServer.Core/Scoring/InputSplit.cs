namespace InferenceServer.Core.Scoring;

/// <summary>
/// A stable slice of the input, the unit that is read, committed, resumed and sharded: a Parquet row group, or a byte
/// range of a CSV or JSONL file (its rows are the lines that start inside it). Its identity is the file and the index
/// in it; the file's size and modification time are recorded so that a resume refuses an input that changed.
/// </summary>
/// <param name="Path">The file, as given (folders and globs expand to full paths).</param>
/// <param name="Format">How the file is read.</param>
/// <param name="Index">The split's index across the whole input (every file's splits, files in path order): part files are named by it.</param>
/// <param name="IndexInFile">The split's index in its file (the row group, or the byte range).</param>
/// <param name="Start">The first byte of the range (text formats); 0 for Parquet.</param>
/// <param name="Length">The range's bytes (text formats); the row group's compressed bytes for Parquet.</param>
/// <param name="Rows">The row count when the file says it (Parquet); -1 otherwise.</param>
/// <param name="FirstRow">The 0-based index in its file of the split's first row, when known without reading (Parquet); -1 otherwise.</param>
/// <param name="FileSize">The file's size when the input was planned.</param>
/// <param name="FileModified">The file's last write time (UTC ticks) when the input was planned.</param>
public sealed record InputSplit(string Path, InputFormat Format, int Index, int IndexInFile, long Start, long Length, long Rows, long FirstRow,
    long FileSize, long FileModified)
{
    /// <summary>How the split names itself in messages: the file and the row group or byte range.</summary>
    public override string ToString() => Format == InputFormat.Parquet
        ? $"{Path} (row group {IndexInFile})"
        : $"{Path} (bytes {Start}-{Start + Length})";
}
