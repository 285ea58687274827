using InferenceServer.FeatureSidecar.Materialize;
using InferenceServer.FeatureSidecar.Stores;

namespace InferenceServer.FeatureSidecar.Cli;

/// <summary>Runs <c>materialize</c>: exit 0 when the file was loaded (bad rows named and skipped), 1 when it could not be.</summary>
internal static class MaterializeRunner
{
    public static async Task<int> RunAsync(MaterializeSettings settings, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        try
        {
            return await new Materializer(settings, output, error, TimeProvider.System).RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is MaterializeException or StoreException)
        {
            await error.WriteLineAsync($"feature-sidecar: {e.Message}").ConfigureAwait(false);
            return 1;
        }
    }
}
