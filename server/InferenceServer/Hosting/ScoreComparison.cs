using InferenceServer.Cli;
using InferenceServer.Core.Serving;

namespace InferenceServer.Hosting;

/// <summary><c>score --compare-with URL</c>: not written yet.</summary>
internal static class ScoreComparison
{
    public static async Task<int> RunAsync(InferenceFrontDoor frontDoor, ScoreRequest request, Uri server, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        _ = frontDoor;
        _ = request;
        _ = output;
        _ = cancellationToken;
        await error.WriteLineAsync($"inference-server score: --compare-with {server} is not available yet").ConfigureAwait(false);
        return 1;
    }
}
