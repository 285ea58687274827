namespace InferenceServer.Core.Scoring;

/// <summary>
/// The lines of a text split: those that start inside its byte range. The range's start moves forward to the next line
/// start (the line it cuts belongs to the split before) and its end likewise, so neighbouring splits share no line and
/// miss none. Quoted CSV fields with line breaks inside are not supported across a cut (the usual limit of byte splits).
/// </summary>
internal static class LineRange
{
    private const int ScanBuffer = 1 << 16;

    /// <summary>The byte range [begin, end) of the whole lines that start in [start, start + length); begin is at least <paramref name="floor"/> (past a header).</summary>
    public static (long Begin, long End) Align(FileStream file, long start, long length, long floor)
    {
        var begin = start == 0 ? 0 : NextLineStart(file, start);
        var end = start + length >= file.Length ? file.Length : NextLineStart(file, start + length);
        return (Math.Max(begin, floor), Math.Max(Math.Max(begin, floor), end));
    }

    /// <summary>The first line start at or after <paramref name="position"/>: just after the first '\n' at or after position - 1.</summary>
    public static long NextLineStart(FileStream file, long position)
    {
        if (position <= 0)
        {
            return 0;
        }
        var buffer = new byte[ScanBuffer];
        file.Position = position - 1;
        var at = position - 1;
        while (true)
        {
            var read = file.Read(buffer, 0, buffer.Length);
            if (read == 0)
            {
                return file.Length;
            }
            var newline = buffer.AsSpan(0, read).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                return at + newline + 1;
            }
            at += read;
        }
    }

    /// <summary>How many lines end before <paramref name="position"/> (vectorized count of '\n'): the line number of the line starting there, less one.</summary>
    public static long LinesBefore(string path, long position)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        var buffer = new byte[1 << 20];
        long lines = 0;
        long left = position;
        while (left > 0)
        {
            var read = file.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (read == 0)
            {
                break;
            }
            lines += buffer.AsSpan(0, read).Count((byte)'\n');
            left -= read;
        }
        return lines;
    }
}
