using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace InferenceServer.Hosting;

/// <summary>
/// <c>--log-file</c>: writes the log to a file, each entry formatted by the console's own formatter (<c>simple</c> or
/// <c>json</c>, as <c>Logging:Console:FormatterName</c> says, with the same timestamps), so the file holds exactly the
/// lines the console would have shown. Our own, small, because no package the registry serves fits: Serilog's
/// Serilog.Extensions.Logging.File does not restore on .NET 10, NReco.Logging.File and Karambolo's file logger are not
/// served, and Serilog's file sink would bring formats of its own to keep in step with the console's.
/// </summary>
internal sealed class FileLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    [ThreadStatic]
    private static StringWriter? t_buffer;

    private readonly Lock _lock = new();
    private readonly StreamWriter _writer;
    private readonly ConsoleFormatter _formatter;
    private IExternalScopeProvider? _scopes;
    private bool _disposed;

    /// <summary>Writes to <paramref name="file"/> (opened for appending by the caller, so a bad path fails at startup with its reason).</summary>
    public FileLoggerProvider(FileStream file, IEnumerable<ConsoleFormatter> formatters, IOptions<ConsoleLoggerOptions> options)
    {
        var name = options.Value.FormatterName ?? ConsoleFormatterNames.Simple;
        ConsoleFormatter? simple = null;
        ConsoleFormatter? named = null;
        foreach (var formatter in formatters)
        {
            simple = formatter.Name == ConsoleFormatterNames.Simple ? formatter : simple;
            named = formatter.Name == name ? formatter : named;
        }
        _formatter = named ?? simple ?? throw new InvalidOperationException("the console formatters are not registered");
        // Flushed line by line, as the console is: a crash loses nothing that was logged.
        _writer = new StreamWriter(file, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)) { AutoFlush = true };
    }

    public ILogger CreateLogger(string categoryName) => new FileLogger(categoryName, this);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    /// <summary>Formats <paramref name="entry"/> and appends it.</summary>
    public void Write<TState>(in LogEntry<TState> entry)
    {
        var buffer = t_buffer ??= new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
        var text = buffer.GetStringBuilder();
        text.Clear();
        _formatter.Write(entry, _scopes, buffer);
        if (text.Length == 0)
        {
            return;
        }
        lock (_lock)
        {
            if (!_disposed)
            {
                _writer.Write(text);
            }
        }
        if (text.Capacity > 64 * 1024)
        {
            // One huge entry does not keep its buffer alive on this thread.
            t_buffer = null;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (!_disposed)
            {
                _disposed = true;
                _writer.Dispose();
            }
        }
    }
}
