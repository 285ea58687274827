using System.Collections.Concurrent;
using InferenceServer.Core.Models;

namespace InferenceServer.Core.Lifecycle;

/// <summary>
/// The versions taken out of service that are still draining: each finishes the requests it accepted, then releases its
/// instances. Kept so that shutting down can wait for every one of them.
/// </summary>
internal sealed class VersionRetirement
{
    private readonly ConcurrentDictionary<ModelVersion, Task> _retiring = new();

    /// <summary>
    /// Retires <paramref name="versions"/>. Call only once the registry no longer routes to them: a request that still
    /// holds one was admitted before (and finishes), a request that comes too late is routed again to what replaced it.
    /// </summary>
    public void Start(IEnumerable<ModelVersion> versions)
    {
        foreach (var version in versions)
        {
            var task = version.RetireAsync();
            _retiring[version] = task;
            _ = task.ContinueWith(_ => _retiring.TryRemove(version, out var _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    /// <summary>Completes once every version retired so far has released its instances.</summary>
    public Task DrainAsync() => Task.WhenAll(_retiring.Values.ToArray());
}
