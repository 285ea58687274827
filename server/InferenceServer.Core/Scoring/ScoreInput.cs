using System.Text.RegularExpressions;

namespace InferenceServer.Core.Scoring;

/// <summary>What <c>--input</c> names: one file, a folder (its scoreable files, not recursive) or a glob on file names.</summary>
public static class ScoreInput
{
    /// <summary>
    /// The files <paramref name="input"/> names, sorted by ordinal path so that every run and every shard sees the same
    /// order. A glob's wildcards (<c>*</c>, <c>?</c>) are in the file name only: <c>data/part-*.parquet</c>.
    /// </summary>
    /// <exception cref="ScoreException">Nothing there, or nothing scoreable.</exception>
    public static IReadOnlyList<string> ResolveFiles(string input)
    {
        ArgumentException.ThrowIfNullOrEmpty(input);
        if (File.Exists(input))
        {
            FormatOf(input);
            return [Path.GetFullPath(input)];
        }
        List<string> files;
        if (Directory.Exists(input))
        {
            files = [.. Directory.EnumerateFiles(input).Where(f => TryFormatOf(f, out _)).Select(Path.GetFullPath)];
            if (files.Count == 0)
            {
                throw new ScoreException($"folder '{input}' holds no .parquet, .csv or .jsonl file to score");
            }
        }
        else if (input.AsSpan().IndexOfAny('*', '?') >= 0)
        {
            var folder = Path.GetDirectoryName(input);
            var pattern = Path.GetFileName(input);
            if (string.IsNullOrEmpty(folder))
            {
                folder = ".";
            }
            if (folder.AsSpan().IndexOfAny('*', '?') >= 0)
            {
                throw new ScoreException($"--input '{input}': wildcards go in the file name only (data/part-*.parquet), not in folder names");
            }
            if (!Directory.Exists(folder))
            {
                throw new ScoreException($"--input '{input}': folder '{folder}' does not exist");
            }
            var regex = new Regex("^" + Regex.Escape(pattern).Replace(@"\*", ".*", StringComparison.Ordinal).Replace(@"\?", ".", StringComparison.Ordinal) + "$",
                RegexOptions.CultureInvariant);
            files = [.. Directory.EnumerateFiles(folder).Where(f => regex.IsMatch(Path.GetFileName(f))).Select(Path.GetFullPath)];
            if (files.Count == 0)
            {
                throw new ScoreException($"--input '{input}' matches no file");
            }
            foreach (var file in files)
            {
                FormatOf(file);
            }
        }
        else
        {
            throw new ScoreException($"--input '{input}' is no file, folder or glob that matches anything");
        }
        files.Sort(StringComparer.Ordinal);
        return files;
    }

    /// <summary>The format of <paramref name="path"/> by its extension.</summary>
    /// <exception cref="ScoreException">An extension batch scoring does not read.</exception>
    public static InputFormat FormatOf(string path) =>
        TryFormatOf(path, out var format)
            ? format
            : throw new ScoreException($"'{path}' is not a file batch scoring reads: expected .parquet, .csv, .jsonl or .ndjson");

    private static bool TryFormatOf(string path, out InputFormat format)
    {
        var extension = Path.GetExtension(path).ToLowerInvariant();
        (format, var known) = extension switch
        {
            ".parquet" => (InputFormat.Parquet, true),
            ".csv" => (InputFormat.Csv, true),
            ".jsonl" or ".ndjson" => (InputFormat.JsonLines, true),
            _ => (default, false),
        };
        return known;
    }
}
