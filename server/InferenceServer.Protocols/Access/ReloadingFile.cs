using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.FileProviders.Physical;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace InferenceServer.Protocols.Access;

/// <summary>
/// A value read from one or more files (a PEM certificate and its key, a client CA, a token file) and read again when
/// any of them changes, so certificates and tokens are replaced without a restart. The files are watched with
/// PhysicalFileProvider (set DOTNET_USE_POLLING_FILE_WATCHER=1 where file events do not arrive, as on some mounted
/// volumes); the read waits until the files have been quiet for <see cref="Quiet"/>, because a certificate and its key
/// are seldom written at the same instant. A read that fails keeps the last good value and is logged.
/// </summary>
public sealed class ReloadingFile<T> : IDisposable
    where T : class
{
    /// <summary>How long the files must be unchanged before they are read again.</summary>
    public static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(200);

    private readonly string _what;
    private readonly Func<T> _read;
    private readonly ILogger _logger;
    private readonly List<PhysicalFileProvider> _providers = [];
    private readonly List<IDisposable> _watches = [];
    private readonly ITimer _timer;
    private readonly Lock _readLock = new();
    private T _current;

    /// <summary>
    /// Reads the value now with <paramref name="read"/> (its exception, an <see cref="ArgumentException"/> naming the
    /// file, stops the start) and watches <paramref name="paths"/>. <paramref name="what"/> names the value in the log.
    /// </summary>
    public ReloadingFile(string what, IReadOnlyList<string> paths, Func<T> read, ILogger logger, TimeProvider time)
    {
        _what = what;
        _read = read;
        _logger = logger;
        _current = read();
        _timer = time.CreateTimer(static state => ((ReloadingFile<T>)state!).Reload(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        foreach (var path in paths)
        {
            var full = Path.GetFullPath(path);
            var provider = new PhysicalFileProvider(Path.GetDirectoryName(full)!, ExclusionFilters.None);
            var name = Path.GetFileName(full);
            _providers.Add(provider);
            _watches.Add(ChangeToken.OnChange(() => provider.Watch(name), () => _timer.Change(Quiet, Timeout.InfiniteTimeSpan)));
        }
    }

    /// <summary>The value last read successfully.</summary>
    public T Current => Volatile.Read(ref _current);

    private void Reload()
    {
        lock (_readLock)
        {
            T next;
            try
            {
                next = _read();
            }
            catch (ArgumentException e)
            {
                AccessLog.ReloadFailed(_logger, _what, e.Message);
                return;
            }
            Volatile.Write(ref _current, next);
            AccessLog.Reloaded(_logger, _what);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var watch in _watches)
        {
            watch.Dispose();
        }
        foreach (var provider in _providers)
        {
            provider.Dispose();
        }
        _timer.Dispose();
    }
}
