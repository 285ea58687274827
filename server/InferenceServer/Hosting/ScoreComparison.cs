using System.Text.Json;
using InferenceServer.Cli;
using InferenceServer.Core.Scoring;
using InferenceServer.Core.Serving;

namespace InferenceServer.Hosting;

/// <summary><c>score --compare-with URL</c>: runs <see cref="Core.Scoring.ScoreComparison"/> and reports it (text, or one JSON object with --json).</summary>
internal static class ScoreComparison
{
    // The rows listed in the text report; the JSON one lists them all.
    private const int Shown = 20;

    /// <summary>Compares and reports; returns the number of rows that differ.</summary>
    public static async Task<int> RunAsync(InferenceFrontDoor frontDoor, ScoreRequest request, Uri server, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var report = await Core.Scoring.ScoreComparison.RunAsync(frontDoor, request.Options, server, request.CompareRows, http, cancellationToken).ConfigureAwait(false);
        if (request.Json)
        {
            await output.WriteLineAsync(JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["event"] = "compare",
                ["server"] = report.Server.ToString(),
                ["compared"] = report.Compared,
                ["skipped_bad_rows"] = report.Skipped,
                ["differ"] = report.Differences.Count,
                ["differences"] = report.Differences.Select(d => new Dictionary<string, object?>
                {
                    ["file"] = d.File, ["row"] = d.Row, ["key"] = d.Key, ["output"] = d.Output, ["local"] = d.Local, ["remote"] = d.Remote,
                }).ToArray(),
            })).ConfigureAwait(false);
        }
        else
        {
            await output.WriteLineAsync($"Compared {report.Compared:N0} rows with {report.Server}: {(report.Differences.Count == 0 ? "every answer is identical" : $"{report.Differences.Count:N0} differ")}"
                + (report.Skipped > 0 ? $" ({report.Skipped:N0} bad rows not sent)" : "") + ".").ConfigureAwait(false);
            foreach (var d in report.Differences.Take(Shown))
            {
                await output.WriteLineAsync($"  {d.File} row {d.Row}{(d.Key.Length > 0 ? $" ({d.Key})" : "")}: {d.Output}: here {d.Local}, server {d.Remote}").ConfigureAwait(false);
            }
        }
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (report.Differences.Count > 0)
        {
            await error.WriteLineAsync($"inference-server score: {report.Differences.Count} of {report.Compared} rows differ from {report.Server}").ConfigureAwait(false);
        }
        return report.Differences.Count;
    }
}
