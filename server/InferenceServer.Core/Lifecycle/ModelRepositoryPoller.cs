using System.Collections.Concurrent;
using InferenceServer.Core.Repository;
using Microsoft.Extensions.Logging;

namespace InferenceServer.Core.Lifecycle;

/// <summary>
/// Poll mode: watches the repositories with file-system events and rescans them every
/// <c>--repository-poll-secs</c> as the fallback (events can be lost, or unsupported on network file
/// systems). Each scan goes through the <see cref="RepositoryChangeTracker"/>'s completion rule;
/// the models it reports are handed to the lifecycle, newest view first: when a model changes again
/// before its previous change was applied, only the latest view is applied.
/// </summary>
internal sealed partial class ModelRepositoryPoller : IAsyncDisposable
{
    // File-system events come in bursts (one per write); one scan shortly after covers the burst.
    private static readonly TimeSpan EventCoalescing = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan RetryAfterFailedScan = TimeSpan.FromMilliseconds(500);

    private readonly string[] _repositories;
    private readonly string _marker;
    private readonly TimeSpan _period;
    private readonly RepositoryChangeTracker _tracker;
    private readonly Func<string, Func<RepositoryChange?>, Task> _apply;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _signal = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, RepositoryChange> _latest = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Task, bool> _applying = new();
    private readonly List<FileSystemWatcher> _watchers = [];
    private Task _loop = Task.CompletedTask;

    /// <param name="repositories">The repository folders; a model name found in two or more of them is not loaded.</param>
    /// <param name="options">Poll period, quiet interval and marker.</param>
    /// <param name="apply">Applies a model's latest change: called with the model name and a function that takes its latest pending change (null when another call already took it); the lifecycle calls it under the model's lock.</param>
    /// <param name="timeProvider">The clock of the completion rule.</param>
    /// <param name="logger">Where scans and failures are reported.</param>
    public ModelRepositoryPoller(IEnumerable<string> repositories, ModelLifecycleOptions options, Func<string, Func<RepositoryChange?>, Task> apply, TimeProvider timeProvider, ILogger logger)
    {
        _repositories = repositories.ToArray();
        _marker = options.RepositoryPollMarker ?? "";
        _period = options.RepositoryPollSeconds > 0 ? TimeSpan.FromSeconds(options.RepositoryPollSeconds) : Timeout.InfiniteTimeSpan;
        _tracker = new RepositoryChangeTracker(timeProvider, TimeSpan.FromMilliseconds(Math.Max(0, options.RepositoryPollQuietMilliseconds)), _marker);
        _apply = apply;
        _logger = logger;
    }

    /// <summary>Records the repository as the startup load finds it; call before loading it.</summary>
    public void Baseline() => _tracker.Baseline(Scan(_repositories, _marker) ?? []);

    /// <summary>Starts watching and rescanning.</summary>
    public void Start()
    {
        foreach (var repository in _repositories)
        {
            Watch(repository);
        }
        LogPolling(string.Join("', '", _repositories), _period == Timeout.InfiniteTimeSpan ? "never (events only)" : $"every {_period.TotalSeconds:0.###} s",
            _marker.Length > 0 ? $"once it holds '{_marker}'" : "once its files are unchanged for the quiet interval");
        _loop = Task.Run(LoopAsync);
    }

    private void Watch(string repository)
    {
        try
        {
            var watcher = new FileSystemWatcher(repository)
            {
                IncludeSubdirectories = true,
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
            };
            watcher.Changed += (_, _) => Signal();
            watcher.Created += (_, _) => Signal();
            watcher.Deleted += (_, _) => Signal();
            watcher.Renamed += (_, _) => Signal();
            watcher.Error += (_, e) =>
            {
                LogWatcherError(e.GetException().Message);
                Signal();
            };
            watcher.EnableRaisingEvents = true;
            _watchers.Add(watcher);
        }
        catch (Exception e) when (e is IOException or ArgumentException or PlatformNotSupportedException)
        {
            // inotify limits, a network file system, ...: the periodic rescan still sees every change.
            LogWatcherUnavailable(repository, e.Message);
        }
    }

    private void Signal()
    {
        try
        {
            _signal.Release();
        }
        catch (SemaphoreFullException)
        {
            // A scan is already due.
        }
        catch (ObjectDisposedException)
        {
            // Stopped.
        }
    }

    private async Task LoopAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            var wait = _period;
            if (_tracker.NextCheck() is { } next && (wait == Timeout.InfiniteTimeSpan || next < wait))
            {
                // A little past the due time, so the folder is certainly old enough by then.
                wait = next + TimeSpan.FromMilliseconds(20);
            }
            try
            {
                if (await _signal.WaitAsync(wait, token).ConfigureAwait(false))
                {
                    await Task.Delay(EventCoalescing, token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var scan = Scan(_repositories, _marker);
            if (scan is null)
            {
                Signal();
                try
                {
                    await Task.Delay(RetryAfterFailedScan, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                continue;
            }
            foreach (var change in _tracker.Observe(scan))
            {
                LogChange(change.Name, change.Directory is null ? "removed"
                    : change.ModelChanged ? $"versions [{string.Join(", ", change.Signatures.Keys)}] complete" : $"{ModelRepositoryScanner.RouteFileName} or {ModelRepositoryScanner.FeaturesFileName} changed");
                _latest.AddOrUpdate(change.Name, change, (_, pending) => change.Replacing(pending));
                var name = change.Name;
                var task = ApplyAsync(name);
                _applying[task] = true;
                _ = task.ContinueWith(t => _applying.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
    }

    private async Task ApplyAsync(string name)
    {
        try
        {
            await _apply(name, () => _latest.TryRemove(name, out var change) ? change : null).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Shutting down: the lifecycle stopped taking changes.
        }
        catch (Exception e)
        {
            LogApplyFailed(name, e);
        }
    }

    /// <summary>
    /// Looks at every model folder; null when a repository could not be read completely this time
    /// (a folder vanished mid-scan, the repository is unmounted): acting on a partial view would
    /// unload models that are still there. A model found in two or more repositories is left out, so
    /// it is unloaded, as Triton does.
    /// </summary>
    internal static IReadOnlyList<ModelFolderState>? Scan(IEnumerable<string> repositories, string marker)
    {
        try
        {
            var models = new List<ModelFolderState>();
            foreach (var directory in ModelRepositoryScanner.Scan(repositories, new HashSet<string>(StringComparer.Ordinal)))
            {
                var versions = new Dictionary<long, VersionFolderState>();
                foreach (var (number, path) in directory.Versions)
                {
                    versions[number] = new VersionFolderState(path, FolderSignature.Compute(path), marker.Length > 0 && File.Exists(Path.Combine(path, marker)));
                }
                var config = directory.ConfigPath is null ? "" : FolderSignature.ComputeFile(directory.ConfigPath);
                var route = directory.RoutePath is null ? "" : FolderSignature.ComputeFile(directory.RoutePath);
                var features = directory.FeaturesPath is null ? "" : FolderSignature.ComputeFile(directory.FeaturesPath);
                models.Add(new ModelFolderState(directory.Name, directory.Path, config, versions, route, features));
            }
            return models;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Stops watching; waits for changes being applied.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (var watcher in _watchers)
        {
            watcher.Dispose();
        }
        await _loop.ConfigureAwait(false);
        await Task.WhenAll(_applying.Keys).ConfigureAwait(false);
        _signal.Dispose();
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Polling repository '{Repository}': file-system events, rescans {Period}; a version folder is loaded {Rule}")]
    private partial void LogPolling(string repository, string period, string rule);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot watch '{Repository}' for file-system events ({Reason}); relying on the periodic rescan")]
    private partial void LogWatcherUnavailable(string repository, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Repository watcher error: {Reason}; rescanning")]
    private partial void LogWatcherError(string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Repository change: model '{Model}' {What}")]
    private partial void LogChange(string model, string what);

    [LoggerMessage(Level = LogLevel.Error, Message = "Applying the repository change of model '{Model}' failed")]
    private partial void LogApplyFailed(string model, Exception exception);
}
