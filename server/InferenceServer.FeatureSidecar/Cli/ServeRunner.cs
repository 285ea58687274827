using System.Runtime.InteropServices;
using InferenceServer.FeatureSidecar.Serving;
using InferenceServer.FeatureSidecar.Stores;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace InferenceServer.FeatureSidecar.Cli;

/// <summary>
/// Runs <c>serve</c> until SIGTERM or Ctrl+C: opens the store, serves metrics when asked, listens on the socket; on the
/// signal answers the lookups in flight and removes the socket. Exit 0 after a clean stop, 1 when it cannot start.
/// </summary>
internal static class ServeRunner
{
    // How long the store's breaker refuses reads after it opens, before a trial read.
    private static readonly TimeSpan BreakDuration = TimeSpan.FromSeconds(1);

    public static async Task<int> RunAsync(ServeSettings settings, TextWriter error, CancellationToken cancellationToken)
    {
        using var loggers = LoggerFactory.Create(logging => logging.AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.UseUtcTimestamp = true;
            console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
        }));
        var logger = loggers.CreateLogger("feature-sidecar");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);

        var registry = Metrics.NewCustomRegistry();
        var metrics = new SidecarMetrics(registry);
        IOnlineStore store;
        try
        {
            store = await OnlineStores.OpenToServeAsync(settings.Store, TimeProvider.System, new StoreEvents(settings.Store, metrics, logger)).ConfigureAwait(false);
        }
        catch (StoreException e)
        {
            await error.WriteLineAsync($"feature-sidecar: {e.Message}").ConfigureAwait(false);
            return 1;
        }
        await using (store.ConfigureAwait(false))
        {
            MetricServer? metricServer = null;
            try
            {
                if (settings.MetricsPort is { } port)
                {
                    metricServer = new MetricServer(port: port, registry: registry);
                    try
                    {
                        metricServer.Start();
                    }
                    catch (Exception e) when (e is System.Net.HttpListenerException or InvalidOperationException)
                    {
                        throw new StartupException($"cannot serve metrics on port {port}: {e.Message}");
                    }
                    SidecarLog.Metrics(logger, port);
                }
                var guard = new StoreGuard(store, metrics, TimeProvider.System, BreakDuration);
                using var server = SidecarServer.Listen(settings.SocketPath, guard, metrics, logger, settings.MaxInFlight);
                await server.RunAsync(stop.Token).ConfigureAwait(false);
                return 0;
            }
            catch (StartupException e)
            {
                await error.WriteLineAsync($"feature-sidecar: {e.Message}").ConfigureAwait(false);
                return 1;
            }
            finally
            {
                if (metricServer is not null)
                {
                    await metricServer.StopAsync().ConfigureAwait(false);
                }
            }
        }

        void Stop(PosixSignalContext context)
        {
            // Handled here: the process ends when serve returns, after the lookups in flight are answered.
            context.Cancel = true;
            stop.Cancel();
        }
    }
}
