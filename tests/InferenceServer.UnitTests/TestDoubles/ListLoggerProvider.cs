using Microsoft.Extensions.Logging;

namespace InferenceServer.UnitTests.TestDoubles;

/// <summary>Hands one <see cref="ListLogger"/> to every category, so a test reads all that a component logged in order.</summary>
internal sealed class ListLoggerProvider : ILoggerProvider
{
    public ListLogger Logger { get; } = new();

    public ILogger CreateLogger(string categoryName) => Logger;

    public void Dispose()
    {
    }
}
