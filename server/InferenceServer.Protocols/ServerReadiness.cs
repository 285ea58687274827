using InferenceServer.Core.Models;
using Microsoft.Extensions.Hosting;

namespace InferenceServer.Protocols;

/// <summary>
/// Whether the server takes inference traffic, decided in this one place for every protocol surface that reports it
/// (gRPC <c>ServerReady</c> and the <c>grpc.health.v1</c> health service).
/// </summary>
internal sealed class ServerReadiness(ModelManager manager, IHostApplicationLifetime lifetime)
{
    /// <summary>Ready once the startup load is done, and no longer once the server is stopping.</summary>
    public bool IsReady => manager.StartupComplete && !lifetime.ApplicationStopping.IsCancellationRequested;
}
