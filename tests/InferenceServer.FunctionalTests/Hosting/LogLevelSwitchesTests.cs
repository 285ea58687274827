using InferenceServer.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace InferenceServer.FunctionalTests.Hosting;

/// <summary>Triton's --log-verbose, --log-info, --log-warning and --log-error on top of .NET's level rules.</summary>
public sealed class LogLevelSwitchesTests
{
    // The levels enabled for a category, with a rule that keeps "Noisy" at Error, as appsettings keeps Microsoft.AspNetCore at Warning.
    private static string Enabled(ServerLogOptions log, string category = "InferenceServer.Test")
    {
        var services = new ServiceCollection();
        services.AddLogging(b =>
        {
            b.AddProvider(new EveryLevelProvider());
            b.SetMinimumLevel(LogLevel.Information);
            b.AddFilter("Noisy", LogLevel.Error);
        });
        services.PostConfigure<LoggerFilterOptions>(o => LogLevelSwitches.Apply(o, log));
        using var provider = services.BuildServiceProvider();
        var logger = provider.GetRequiredService<ILoggerFactory>().CreateLogger(category);
        return string.Join(",", Enum.GetValues<LogLevel>().Where(l => l != LogLevel.None && logger.IsEnabled(l)));
    }

    [Fact]
    public void TheDefaultsChangeNothing() =>
        Assert.Equal("Information,Warning,Error,Critical", Enabled(new ServerLogOptions()));

    [Fact]
    public void EachLevelSwitchesOffOnItsOwn()
    {
        Assert.Equal("Warning,Error,Critical", Enabled(new ServerLogOptions { Info = false }));
        Assert.Equal("Information,Error,Critical", Enabled(new ServerLogOptions { Warning = false }));
        Assert.Equal("Information,Warning", Enabled(new ServerLogOptions { Error = false }));
        Assert.Equal("", Enabled(new ServerLogOptions { Info = false, Warning = false, Error = false }));
    }

    [Fact]
    public void VerboseLowersTheDefaultLevelButNotTheCategoryRules()
    {
        Assert.Equal("Debug,Information,Warning,Error,Critical", Enabled(new ServerLogOptions { Verbose = 1 }));
        Assert.Equal("Trace,Debug,Information,Warning,Error,Critical", Enabled(new ServerLogOptions { Verbose = 2 }));
        Assert.Equal("Error,Critical", Enabled(new ServerLogOptions { Verbose = 2 }, "Noisy.Library"));
        Assert.Equal("Debug,Warning,Error,Critical", Enabled(new ServerLogOptions { Verbose = 1, Info = false }));
    }

    [Fact]
    public void TheSwitchesApplyUnderCategoryRulesToo()
    {
        Assert.Equal("", Enabled(new ServerLogOptions { Error = false }, "Noisy.Library"));
        Assert.Equal("Error,Critical", Enabled(new ServerLogOptions { Warning = false }, "Noisy.Library"));
    }

    // A provider whose loggers take every level, so only the factory's rules decide.
    private sealed class EveryLevelProvider : ILoggerProvider, ILogger
    {
        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
        }

        public void Dispose()
        {
        }
    }
}
