using System.Globalization;
using System.Text;

namespace InferenceServer.FunctionalTests.Hardening;

/// <summary>
/// What one fuzz target did: cases run, the answers they got (by status), and every failure with its reproducer (seed,
/// case index, and the bytes in base64). Thread-safe: cases of a batch run in parallel.
/// </summary>
internal sealed class FuzzReport(string target, FuzzSettings settings)
{
    // A reproducer holds the whole request up to this size; longer ones are rebuilt from the seed and the index.
    private const int MaxReproducerBytes = 8192;
    private const int MaxListedFailures = 25;

    private readonly Lock _lock = new();
    private readonly SortedDictionary<string, int> _outcomes = new(StringComparer.Ordinal);
    private readonly List<FuzzFailure> _failures = [];
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private int _cases;

    public string Target => target;

    public int Cases => Volatile.Read(ref _cases);

    public IReadOnlyList<FuzzFailure> Failures
    {
        get
        {
            lock (_lock)
            {
                return [.. _failures];
            }
        }
    }

    /// <summary>Counts one case and the answer it got (a status, or what happened instead).</summary>
    public void Count(string outcome)
    {
        Interlocked.Increment(ref _cases);
        lock (_lock)
        {
            _outcomes[outcome] = _outcomes.GetValueOrDefault(outcome) + 1;
        }
    }

    public void Fail(FuzzFailure failure)
    {
        lock (_lock)
        {
            _failures.Add(failure);
        }
    }

    /// <summary>Writes the summary to the test's output (and FUZZ_REPORT), then fails the test if any case failed.</summary>
    public void Finish(Xunit.Abstractions.ITestOutputHelper output)
    {
        var summary = Summary();
        output.WriteLine(summary);
        FuzzSummaryFile.Append(summary);
        Assert.True(Failures.Count == 0, summary);
    }

    /// <summary>The summary: cases, time, answers by status, failures by kind, then each failure with its reproducer.</summary>
    public string Summary()
    {
        lock (_lock)
        {
            var text = new StringBuilder();
            text.Append(CultureInfo.InvariantCulture, $"fuzz {target}: {_cases} cases in {_clock.Elapsed.TotalSeconds:F1} s, seed {settings.Seed}; answers: ");
            text.AppendJoin(", ", _outcomes.Select(o => $"{o.Key} x{o.Value}"));
            text.AppendLine();
            if (_failures.Count == 0)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"fuzz {target}: no failures");
                return text.ToString();
            }
            text.Append(CultureInfo.InvariantCulture, $"fuzz {target}: {_failures.Count} failures: ");
            text.AppendJoin(", ", _failures.GroupBy(f => f.Kind).Select(g => $"{g.Key} x{g.Count()}"));
            text.AppendLine();
            // The same defect usually fails many cases: list each distinct answer once, then the rest by count.
            foreach (var group in _failures.GroupBy(f => f.Kind + " | " + Signature(f.Detail)).Take(MaxListedFailures))
            {
                var first = group.First();
                text.AppendLine(CultureInfo.InvariantCulture, $"  [{first.Kind}] x{group.Count()}: {first.Detail}");
                text.AppendLine(CultureInfo.InvariantCulture, $"    reproduce: FUZZ_SEED={settings.Seed} target={target} case={first.Index} ({first.Request})");
                text.AppendLine(first.Bytes.Length <= MaxReproducerBytes
                    ? $"    bytes (base64): {Convert.ToBase64String(first.Bytes)}"
                    : $"    bytes: {first.Bytes.Length} (too long to print; rebuilt from the seed and the case index), first 512 in base64: {Convert.ToBase64String(first.Bytes, 0, 512)}");
                if (group.Count() > 1)
                {
                    text.AppendLine(CultureInfo.InvariantCulture, $"    also cases: {string.Join(", ", group.Skip(1).Take(20).Select(f => f.Index))}{(group.Count() > 21 ? ", ..." : "")}");
                }
            }
            return text.ToString();
        }
    }

    // Answers that differ only in numbers or quoted values are one signature.
    private static string Signature(string detail)
    {
        var text = new StringBuilder(Math.Min(detail.Length, 200));
        var quoted = false;
        foreach (var c in detail.AsSpan(0, Math.Min(detail.Length, 200)))
        {
            if (c == '\'')
            {
                quoted = !quoted;
                text.Append(c);
            }
            else if (!quoted && !char.IsAsciiDigit(c))
            {
                text.Append(c);
            }
        }
        return text.ToString();
    }
}
